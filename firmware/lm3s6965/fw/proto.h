/* gantry/1 device protocol core for small targets: line assembly, a
 * minimal JSON reader, request dispatch, the idempotency cache and a
 * simulated one-axis rover. Hardware glue supplies uart_write and calls
 * proto_rx_byte / proto_tick. */
#ifndef PROTO_H
#define PROTO_H
#include <stddef.h>
#define MAX_LINE 4096
void uart_write(const char *s, size_t n); /* provided by the target */
void proto_rx_byte(char c);               /* feed one received byte */
void proto_tick(void);                    /* call every 10 ms */
#endif

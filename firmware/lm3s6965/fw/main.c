/* LM3S6965 glue: vectors, startup, UART0 (PL011) receive interrupt,
 * SysTick at 100 Hz, WFI when idle. */
#include <stdint.h>
#include "proto.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define UART0 0x4000C000u
#define UART_DR REG(UART0 + 0x000)
#define UART_FR REG(UART0 + 0x018)
#define UART_IBRD REG(UART0 + 0x024)
#define UART_FBRD REG(UART0 + 0x028)
#define UART_LCRH REG(UART0 + 0x02C)
#define UART_CTL REG(UART0 + 0x030)
#define UART_IM REG(UART0 + 0x038)
#define UART_ICR REG(UART0 + 0x044)
#define NVIC_EN0 REG(0xE000E100)
#define SYST_CSR REG(0xE000E010)
#define SYST_RVR REG(0xE000E014)
#define SYST_CVR REG(0xE000E018)
#define RCGC1 REG(0x400FE104)
#define RCGC2 REG(0x400FE108)

#define RXBUF 1024
static volatile char rxbuf[RXBUF];
static volatile uint32_t rx_head, rx_tail;
static volatile uint32_t ticks_pending;

extern uint32_t _etext, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void reset_handler(void) {
    uint32_t *src = &_etext, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
    main();
    for (;;) {}
}

void uart0_handler(void) {
    while (!(UART_FR & (1u << 4))) { /* RX FIFO not empty */
        char c = (char)(UART_DR & 0xFF);
        uint32_t next = (rx_head + 1) % RXBUF;
        if (next != rx_tail) { rxbuf[rx_head] = c; rx_head = next; }
    }
    UART_ICR = (1u << 4) | (1u << 6);
}

void systick_handler(void) { ticks_pending++; }

static void default_handler(void) { for (;;) {} }

__attribute__((section(".vectors"), used))
static void (*const vectors[])(void) = {
    (void (*)(void))&_estack, reset_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, 0, 0, 0, 0,
    default_handler, default_handler, 0, default_handler, systick_handler,
    /* IRQ 0..5: GPIOA..E, UART0 */
    default_handler, default_handler, default_handler, default_handler, default_handler,
    uart0_handler,
};

void uart_write(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        while (UART_FR & (1u << 5)) {} /* TX FIFO full */
        UART_DR = (uint8_t)s[i];
    }
}

/* SYSTICK_HZ_CLOCK is the core clock QEMU gives this board. */
#ifndef CORE_HZ
#define CORE_HZ 12000000u
#endif

int main(void) {
    RCGC1 |= 1u;          /* UART0 clock */
    RCGC2 |= 1u;          /* GPIOA */
    UART_CTL = 0;
    UART_IBRD = 6; UART_FBRD = 33; /* 115200 at 12 MHz (ignored by QEMU) */
    UART_LCRH = (3u << 5);         /* 8N1, FIFOs off: interrupt per byte */
    UART_IM = (1u << 4) | (1u << 6);
    UART_CTL = (1u << 0) | (1u << 8) | (1u << 9);
    NVIC_EN0 = 1u << 5;
    SYST_RVR = CORE_HZ / 100 - 1;
    SYST_CVR = 0;
    SYST_CSR = 7; /* core clock, interrupt, enable */
    for (;;) {
        __asm volatile("cpsid i");
        if (rx_head == rx_tail && ticks_pending == 0) {
            __asm volatile("wfi");
            __asm volatile("cpsie i");
            continue;
        }
        __asm volatile("cpsie i");
        while (ticks_pending) {
            __asm volatile("cpsid i");
            ticks_pending--;
            __asm volatile("cpsie i");
            proto_tick();
        }
        while (rx_tail != rx_head) {
            char c = rxbuf[rx_tail];
            rx_tail = (rx_tail + 1) % RXBUF;
            proto_rx_byte(c);
        }
    }
}

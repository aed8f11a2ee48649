# hostile: sys.exit(3)
# expect: SystemExit
# then: print(keep + 1)
# then-expect: 42
keep = 41
import sys
sys.exit(3)

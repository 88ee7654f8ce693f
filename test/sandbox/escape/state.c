// Counts its own runs in a global: a fresh instance per call always prints 1.
#include <stdio.h>
static int runs;
int main(void) {
  printf("runs=%d\n", ++runs);
  return 0;
}

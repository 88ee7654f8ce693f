// Allocates without bound; the volatile sink keeps clang from removing the loop.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile char *sink;

int main(void) {
  size_t total = 0;
  for (;;) {
    char *p = malloc(1 << 20);
    if (!p) break;
    memset(p, 1, 1 << 20);
    sink = p;
    total += 1 << 20;
  }
  printf("malloc failed after %zu MiB\n", total >> 20);
  // Ask for 4 GiB straight from the engine as well.
  printf("memory.grow 65536 pages: %d\n", (int)__builtin_wasm_memory_grow(0, 65536));
  return 3;
}

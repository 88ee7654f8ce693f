// Traps (unreachable) after printing a line, and exits with a code when asked to.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  puts("before");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "exit") == 0) exit(42);
  __builtin_trap();
}

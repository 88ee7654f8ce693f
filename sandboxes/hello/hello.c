// Sample WASI tool: greets the name given as its first argument and echoes stdin.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "world";
  const char *greeting = getenv("GREETING");
  printf("%s, %s!\n", greeting ? greeting : "Hello", name);
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  return 0;
}

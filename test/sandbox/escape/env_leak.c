// Prints everything it can learn about the host: environment, argv, cwd.
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  for (char **e = environ; *e; e++) printf("env %s\n", *e);
  for (int i = 0; i < argc; i++) printf("argv %s\n", argv[i]);
  char cwd[256];
  printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "(none)");
  return 0;
}

// Tries to read files outside the one read-only directory it was given (/data).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void attempt(const char *label, const char *path) {
  char buf[64] = {0};
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("%s: blocked errno=%d\n", label, errno);
    return;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  printf("%s: READ %zd bytes: %s\n", label, n, buf);
  close(fd);
}

int main(void) {
  attempt("absolute", "/etc/passwd");
  attempt("dotdot", "/data/../../../../etc/passwd");
  attempt("relative_dotdot", "../etc/passwd");
  attempt("symlink_file", "/data/link-to-passwd");
  attempt("symlink_dir", "/data/link-to-etc/passwd");
  attempt("allowed", "/data/allowed.txt");
  return 0;
}

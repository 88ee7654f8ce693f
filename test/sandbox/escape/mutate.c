// Tries every way to change the read-only directory /data.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRY(label, expr)                                              \
  do {                                                                \
    errno = 0;                                                        \
    int rc_ = (expr);                                                 \
    printf("%s: %s errno=%d\n", label, rc_ < 0 ? "blocked" : "DONE", errno); \
  } while (0)

int main(void) {
  TRY("create", open("/data/new.txt", O_WRONLY | O_CREAT, 0644));
  TRY("open_write", open("/data/allowed.txt", O_WRONLY));
  TRY("open_trunc", open("/data/allowed.txt", O_RDONLY | O_TRUNC));
  TRY("open_append", open("/data/allowed.txt", O_WRONLY | O_APPEND));
  int fd = open("/data/allowed.txt", O_RDWR);
  if (fd >= 0) {
    TRY("write_rdwr", (int)write(fd, "pwned", 5));
    TRY("pwrite", (int)pwrite(fd, "pwned", 5, 0));
    TRY("ftruncate", ftruncate(fd, 0));
  } else {
    printf("open_rdwr: blocked errno=%d\n", errno);
  }
  int rfd = open("/data/allowed.txt", O_RDONLY);
  TRY("write_rdonly_fd", (int)write(rfd, "pwned", 5));
  TRY("unlink", unlink("/data/allowed.txt"));
  TRY("rename", rename("/data/allowed.txt", "/data/moved.txt"));
  TRY("mkdir", mkdir("/data/newdir", 0755));
  TRY("rmdir", rmdir("/data/subdir"));
  TRY("symlink", symlink("/data/allowed.txt", "/data/sym"));
  TRY("link", link("/data/allowed.txt", "/data/hard"));
  return 0;
}

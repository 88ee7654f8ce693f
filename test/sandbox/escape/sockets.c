// Tries the socket calls WASI preview1 has (on the preopened fd and stdio).
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <wasi/api.h>

int main(void) {
  __wasi_fd_t out;
  printf("sock_accept: %d\n", (int)__wasi_sock_accept(3, 0, &out));
  char buf[8] = "x";
  __wasi_ciovec_t civ = {(const uint8_t *)buf, 1};
  __wasi_size_t n;
  printf("sock_send: %d\n", (int)__wasi_sock_send(1, &civ, 1, 0, &n));
  __wasi_iovec_t iv = {(uint8_t *)buf, sizeof buf};
  __wasi_roflags_t ro;
  printf("sock_recv: %d\n", (int)__wasi_sock_recv(0, &iv, 1, 0, &n, &ro));
  printf("sock_shutdown: %d\n", (int)__wasi_sock_shutdown(3, __WASI_SDFLAGS_RD));
  return 0;
}

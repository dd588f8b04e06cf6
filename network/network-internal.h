/* network-internal.h — what network/ files share and nobody else sees: the
   one-value files under /proc/sys that link.c (route_localnet) and
   rules.c (ip_forward) read and write. */
#ifndef STACK_NETWORK_INTERNAL_H
#define STACK_NETWORK_INTERNAL_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "network.h"

/* Write `value` to a /proc/sys file. A short write to /proc/sys is an
   error the kernel reports through write's return, so one write is all. */
static inline int
net_sysctl_write (const char *path, const char *value, stack_error_t **err)
{
  cleanup_close int fd = -1;
  size_t len = strlen (value);
  ssize_t w;

  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return stack_error_make (err, errno, "open `%s`", path);
  w = write (fd, value, len);
  if (w < 0)
    return stack_error_make (err, errno, "write `%s` to `%s`", value, path);
  if ((size_t)w != len)
    return stack_error_make (err, EIO, "write `%s` to `%s`", value, path);
  return 0;
}

/* Read a /proc/sys file holding one integer. */
static inline int
net_sysctl_read_int (const char *path, int *value, stack_error_t **err)
{
  cleanup_close int fd = -1;
  char buf[32];
  ssize_t r;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return stack_error_make (err, errno, "open `%s`", path);
  r = read (fd, buf, sizeof buf - 1);
  if (r < 0)
    return stack_error_make (err, errno, "read `%s`", path);
  buf[r] = '\0';
  *value = atoi (buf);
  return 0;
}

#endif

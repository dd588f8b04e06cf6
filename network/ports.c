/* ports.c — host port reservations: one bound socket per published port,
   held while the project is up, so that a conflict is found before
   anything is created and nobody takes the port meanwhile. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "network.h"

static const char *
proto_name (enum net_protocol p)
{
  return p == NET_UDP ? "udp" : "tcp";
}

static void
cleanup_dirp (DIR **d)
{
  if (*d != NULL)
    closedir (*d);
  *d = NULL;
}
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))

/* The inode of the socket bound to host_ip:port in /proc/net/{tcp,udp}; a
   socket bound to 0.0.0.0 holds every address, and a request for 0.0.0.0
   collides with every address. 0 when not found. Only listening TCP
   sockets and UDP sockets are listed: a TCP socket that is merely bound
   is in neither of the kernel's lookup tables that /proc/net/tcp walks. */
static unsigned long
socket_inode (uint32_t host_ip, uint16_t port, enum net_protocol protocol)
{
  cleanup_file FILE *f = NULL;
  char line[512];
  /* /proc/net/tcp prints the address as the native-endian value of the
     network-order word: comparing against htonl () matches on any host */
  unsigned int want = htonl (host_ip);

  f = fopen (protocol == NET_UDP ? "/proc/net/udp" : "/proc/net/tcp", "re");
  if (f == NULL)
    return 0;
  if (fgets (line, sizeof line, f) == NULL) /* the header */
    return 0;
  while (fgets (line, sizeof line, f) != NULL)
    {
      unsigned int addr, lport, state;
      unsigned long inode;

      /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
      if (sscanf (line, " %*d: %x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*d %lu", &addr, &lport,
                  &state, &inode)
          != 4)
        continue;
      if (lport != port || inode == 0)
        continue;
      /* 0x0A is TCP_LISTEN; anything else in the TCP list is a connection
         that uses the port, not the socket that holds it */
      if (protocol == NET_TCP && state != 0x0A)
        continue;
      if (addr == want || addr == 0 || want == 0)
        return inode;
    }
  return 0;
}

/* The pid and command name of a process with socket:[inode] open. */
static bool
socket_owner (unsigned long inode, pid_t *pid, char *comm, size_t comm_size)
{
  cleanup_dir DIR *proc = NULL;
  char want[64];
  struct dirent *de;

  snprintf (want, sizeof want, "socket:[%lu]", inode);
  proc = opendir ("/proc");
  if (proc == NULL)
    return false;
  while ((de = readdir (proc)) != NULL)
    {
      cleanup_dir DIR *fds = NULL;
      struct dirent *fe;
      char path[300], target[64];

      if (!isdigit ((unsigned char)de->d_name[0]))
        continue;
      snprintf (path, sizeof path, "/proc/%s/fd", de->d_name);
      fds = opendir (path);
      if (fds == NULL)
        continue; /* gone, or not ours to read */
      while ((fe = readdir (fds)) != NULL)
        {
          ssize_t n;

          if (fe->d_name[0] == '.')
            continue;
          n = readlinkat (dirfd (fds), fe->d_name, target, sizeof target - 1);
          if (n < 0)
            continue;
          target[n] = '\0';
          if (strcmp (target, want) == 0)
            {
              cleanup_file FILE *f = NULL;

              *pid = (pid_t)atoi (de->d_name);
              snprintf (comm, comm_size, "?");
              snprintf (path, sizeof path, "/proc/%s/comm", de->d_name);
              f = fopen (path, "re");
              if (f != NULL && fgets (comm, (int)comm_size, f) != NULL)
                comm[strcspn (comm, "\n")] = '\0';
              return true;
            }
        }
    }
  return false;
}

static int
in_use_error (uint32_t host_ip, uint16_t port, enum net_protocol protocol, stack_error_t **err)
{
  char ip[16], comm[64];
  unsigned long inode;
  pid_t pid;

  net_addr_format (host_ip, ip, sizeof ip);
  inode = socket_inode (host_ip, port, protocol);
  /* the message says it all: no ": Address already in use" tail */
  if (inode != 0 && socket_owner (inode, &pid, comm, sizeof comm))
    return stack_error_set (err, EADDRINUSE,
                            "%s:%u/%s is already in use by pid %d (%s); stop it or publish "
                            "another host port",
                            ip, (unsigned)port, proto_name (protocol), (int)pid, comm);
  return stack_error_set (err, EADDRINUSE,
                          "%s:%u/%s is already in use; stop what holds it or publish another "
                          "host port",
                          ip, (unsigned)port, proto_name (protocol));
}

/* One socket bound to host_ip:port; -errno on failure (taken before the
   cleanup's close can touch errno). */
static int
bind_one (uint32_t host_ip, uint16_t port, enum net_protocol protocol, uint16_t *bound)
{
  /* "ret 0": a filter that drops every packet, so the reservation never
     answers a SYN or queues a datagram that our DNAT rules did not catch
     (say, before the rules are in place) */
  static struct sock_filter drop_all[] = { BPF_STMT (BPF_RET | BPF_K, 0) };
  struct sock_fprog prog = { .len = 1, .filter = drop_all };
  cleanup_close int fd = -1;
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t len = sizeof sin;
  int one = 1, ret;

  fd = socket (AF_INET, (protocol == NET_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  /* TCP only: a port that our own earlier connections left in TIME_WAIT is
     free for our purpose. UDP's SO_REUSEADDR would let two sockets share
     the port outright. */
  if (protocol == NET_TCP)
    {
      ret = setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (ret < 0)
        return -errno;
    }
  ret = setsockopt (fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  if (ret < 0)
    return -errno;
  sin.sin_addr.s_addr = htonl (host_ip);
  sin.sin_port = htons (port);
  ret = bind (fd, (struct sockaddr *)&sin, sizeof sin);
  if (ret < 0)
    return -errno;
  /* Linux lets two SO_REUSEADDR sockets bind the same TCP port as long as
     neither listens: a merely bound reservation would stop neither
     another project nor the typical server (which sets SO_REUSEADDR).
     A listener conflicts with every later bind of the port. */
  if (protocol == NET_TCP)
    {
      ret = listen (fd, 1);
      if (ret < 0)
        return -errno;
    }
  ret = getsockname (fd, (struct sockaddr *)&sin, &len);
  if (ret < 0)
    return -errno;
  *bound = ntohs (sin.sin_port);
  return steal_fd (&fd);
}

int
net_port_reserve (uint32_t host_ip, uint16_t port_lo, uint16_t port_hi, enum net_protocol protocol,
                  uint16_t *port, stack_error_t **err)
{
  char ip[16];
  unsigned p;
  int fd;

  net_addr_format (host_ip, ip, sizeof ip);
  if (port_lo > port_hi || (port_lo == 0 && port_hi != 0))
    return stack_error_make (err, EINVAL, "reserve %s:%u-%u/%s", ip, (unsigned)port_lo,
                             (unsigned)port_hi, proto_name (protocol));
  for (p = port_lo; p <= port_hi; p++)
    {
      fd = bind_one (host_ip, (uint16_t)p, protocol, port);
      if (fd >= 0)
        return fd;
      if (fd != -EADDRINUSE)
        return stack_error_make (err, -fd, "reserve %s:%u/%s", ip, p, proto_name (protocol));
    }
  if (port_lo == port_hi)
    return in_use_error (host_ip, port_lo, protocol, err);
  return stack_error_set (err, EADDRINUSE,
                          "every port of %s:%u-%u/%s is already in use; stop what holds one or "
                          "publish another range",
                          ip, (unsigned)port_lo, (unsigned)port_hi, proto_name (protocol));
}

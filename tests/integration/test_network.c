/* test_network.c — network/ against the real kernel (root): a bridge, a
   container's interfaces in a throwaway network namespace, the nftables
   rules (a published port really reaches the container), host port
   reservations and the host-wide lock.

   Traffic only ever goes to 127.0.0.0/8 or to addresses inside the
   namespaces made here. Every test leaves nothing behind, failed or not:
   the teardown deletes the links (all named stktest…<pid>), kills and
   reaps the children, removes the project's chains and puts ip_forward
   back as it was. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <nftables/libnftables.h>

#include "it-helpers.h"
#include "network/network.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

static char bridge[IFNAMSIZ], veth[IFNAMSIZ], veth2[IFNAMSIZ], project[64];
static pid_t children[8];
static size_t n_children;
static int held_lock = -1; /* released by teardown if a test fails holding it */

static void
lock (void)
{
  stack_error_t *err = NULL;

  held_lock = net_lock (&err);
  if (held_lock < 0)
    fail_msg ("%s", err->msg);
}

static void
unlock (void)
{
  net_unlock (held_lock);
  held_lock = -1;
}

/* ---- small helpers ---- */

static char *
slurp (const char *path)
{
  char *s = NULL;
  stack_error_t *err = NULL;

  if (read_file (path, &s, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return NULL;
    }
  return s;
}

static int
ip_forward (void)
{
  char *s = slurp (IP_FORWARD);
  int v;

  assert_non_null (s);
  v = atoi (s);
  free (s);
  return v;
}

static void
track (pid_t pid)
{
  assert_true (n_children < ARRAY_SIZE (children));
  children[n_children++] = pid;
}

/* Reap a tracked child that is expected to exit by itself; its status. */
static int
reap (pid_t pid)
{
  size_t i;
  int status;

  assert_int_equal (waitpid (pid, &status, 0), pid);
  for (i = 0; i < n_children; i++)
    if (children[i] == pid)
      children[i] = children[--n_children];
  return status;
}

static void
assert_ok (int ret, stack_error_t **err)
{
  if (ret < 0)
    fail_msg ("%s", *err ? (*err)->msg : "(no message)");
}

/* A child in a network namespace of its own, waiting until killed (or
   until we die: it blocks reading a pipe whose write end only we hold). */
static pid_t
netns_child (void)
{
  int ready[2], hold[2];
  char c;
  pid_t pid;

  assert_int_equal (pipe2 (ready, O_CLOEXEC), 0);
  assert_int_equal (pipe2 (hold, O_CLOEXEC), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      close (ready[0]);
      close (hold[1]);
      if (unshare (CLONE_NEWNET) < 0)
        _exit (1);
      if (write (ready[1], "x", 1) != 1)
        _exit (1);
      while (read (hold[0], &c, 1) > 0)
        ;
      _exit (0);
    }
  track (pid);
  close (ready[1]);
  close (hold[0]);
  /* the write end stays open (leaked on purpose) until the test process
     ends; teardown kills the child anyway */
  assert_int_equal (read (ready[0], &c, 1), 1);
  close (ready[0]);
  return pid;
}

static int
open_netns (pid_t pid)
{
  char path[64];
  int fd;

  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  return fd;
}

/* Run fn in a forked child inside pid's network namespace; what fn writes
   to its fd comes back as a string. */
static char *
in_netns (pid_t pid, void (*fn) (int out, void *arg), void *arg)
{
  strbuf_t b = { 0 };
  char buf[512];
  int p[2], status, nsfd;
  ssize_t n;
  pid_t child;

  nsfd = open_netns (pid);
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  child = fork ();
  assert_true (child >= 0);
  if (child == 0)
    {
      close (p[0]);
      if (setns (nsfd, CLONE_NEWNET) < 0)
        {
          dprintf (p[1], "setns: %s\n", strerror (errno));
          _exit (1);
        }
      fn (p[1], arg);
      _exit (0);
    }
  close (nsfd);
  close (p[1]);
  while ((n = read (p[0], buf, sizeof buf)) > 0)
    sb_put (&b, buf, (size_t)n);
  close (p[0]);
  assert_int_equal (waitpid (child, &status, 0), child);
  return sb_steal (&b);
}

static int
tcp_connect (uint32_t addr, uint16_t port, int seconds)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  struct timeval tv = { .tv_sec = seconds };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  /* connect() honours the send timeout: never hang the test */
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sin.sin_addr.s_addr = htonl (addr);
  sin.sin_port = htons (port);
  if (connect (fd, (struct sockaddr *)&sin, sizeof sin) < 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

static int
tcp_listen (uint32_t addr, uint16_t port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  int one = 1, fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sin.sin_addr.s_addr = htonl (addr);
  sin.sin_port = htons (port);
  if (bind (fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen (fd, 8) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static const char *
fmt_addr (uint32_t a)
{
  static char bufs[4][16];
  static int i;

  i = (i + 1) % 4;
  return net_addr_format (a, bufs[i], sizeof bufs[i]);
}

/* A free /24 and a bridge on it: call with the lock held, as compose/
   will, so no other `up` picks the same subnet meanwhile. */
static net_bridge_t
make_bridge (void)
{
  stack_error_t *err = NULL;
  net_prefix_t *taken = NULL;
  size_t n_taken = 0;
  net_bridge_t b = { .name = bridge };

  lock ();
  assert_ok (net_host_prefixes (&taken, &n_taken, &err), &err);
  assert_true (net_pick_subnet (taken, n_taken, &b.subnet));
  free (taken);
  b.gateway = net_gateway (b.subnet);
  assert_ok (net_bridge_create (&b, &err), &err);
  unlock ();
  return b;
}

/* ---- setup and teardown ---- */

static int
group_setup (void **state)
{
  (void)state;
  snprintf (bridge, sizeof bridge, "stktestb%d", (int)getpid ());
  snprintf (veth, sizeof veth, "stktestv%d", (int)getpid ());
  snprintf (veth2, sizeof veth2, "stktestw%d", (int)getpid ());
  snprintf (project, sizeof project, "it-net-%d", (int)getpid ());
  return 0;
}

static int
teardown (void **state)
{
  stack_error_t *err = NULL;
  const char *links[] = { veth, veth2, bridge };
  size_t i;
  (void)state;

  if (geteuid () != 0)
    return 0;
  if (held_lock >= 0)
    unlock ();
  for (i = 0; i < n_children; i++)
    {
      kill (children[i], SIGKILL);
      waitpid (children[i], NULL, 0);
    }
  n_children = 0;
  for (i = 0; i < ARRAY_SIZE (links); i++)
    if (net_link_delete (links[i], &err) < 0)
      {
        fprintf (stderr, "teardown: %s\n", err->msg);
        stack_error_free (&err);
      }
  lock ();
  if (net_rules_remove (project, &err) < 0)
    {
      fprintf (stderr, "teardown: %s\n", err->msg);
      stack_error_free (&err);
    }
  unlock ();
  stack_error_free (&err);
  /* ip_forward is net_rules_remove's business: other stacks may be up on
     this machine meanwhile, and forcing it back would cut them off */
  return 0;
}

/* ---- bridges ---- */

static bool
has_prefix (const net_prefix_t *v, size_t n, net_prefix_t p)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (v[i].addr == p.addr && v[i].len == p.len)
      return true;
  return false;
}

static void
test_bridge_create_lookup_delete (void **state)
{
  stack_error_t *err = NULL;
  net_bridge_t b, again, found = { 0 };
  net_prefix_t *prefixes = NULL;
  size_t n = 0;
  char path[128], *s;
  (void)state;

  it_require_root ();
  b = make_bridge ();

  /* looked up as an external network would be */
  assert_ok (net_bridge_lookup (bridge, &found, &err), &err);
  assert_string_equal (found.name, bridge);
  assert_int_equal (found.gateway, b.gateway);
  assert_int_equal (found.subnet.addr, b.subnet.addr);
  assert_int_equal (found.subnet.len, 24);

  /* it is up, and route_localnet is on */
  snprintf (path, sizeof path, "/sys/class/net/%s/flags", bridge);
  s = slurp (path);
  assert_non_null (s);
  assert_true (strtoul (s, NULL, 16) & IFF_UP);
  free (s);
  snprintf (path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
  s = slurp (path);
  assert_string_equal (s, "1\n");
  free (s);

  /* the next project must not pick its subnet */
  assert_ok (net_host_prefixes (&prefixes, &n, &err), &err);
  assert_true (has_prefix (prefixes, n, b.subnet));
  /* the host's default route is not among them, its eth0 /24 is */
  assert_false (has_prefix (prefixes, n, (net_prefix_t){ 0, 0 }));
  free (prefixes);

  /* a second create is EEXIST and leaves the first alone */
  again = b;
  assert_int_equal (net_bridge_create (&again, &err), -1);
  assert_int_equal (err->status, EEXIST);
  assert_string_equal (err->msg, (s = xasprintf ("create bridge `%s`: Object exists", bridge)));
  free (s);
  stack_error_free (&err);
  assert_ok (net_bridge_lookup (bridge, &found, &err), &err);

  /* not a bridge; no such link */
  assert_int_equal (net_bridge_lookup ("lo", &found, &err), -1);
  assert_int_equal (err->status, EINVAL);
  stack_error_free (&err);

  assert_ok (net_link_delete (bridge, &err), &err);
  assert_int_equal (net_bridge_lookup (bridge, &found, &err), -1);
  assert_int_equal (err->status, ENODEV);
  stack_error_free (&err);
  /* deleting what is gone is fine */
  assert_ok (net_link_delete (bridge, &err), &err);
}

/* ---- a container's interfaces ---- */

struct probe
{
  uint32_t gateway;
  uint16_t port;
};

static void
probe_from_inside (int out, void *arg)
{
  const struct probe *p = arg;
  struct ifreq ifr;
  FILE *f;
  char line[256];
  int fd, c;
  unsigned mask, len;

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) == 0)
    dprintf (out, "lo %s\n", ifr.ifr_flags & IFF_UP ? "up" : "down");

  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "eth0");
  if (ioctl (fd, SIOCGIFADDR, &ifr) == 0)
    {
      uint32_t a = ntohl (((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr);
      ioctl (fd, SIOCGIFNETMASK, &ifr);
      mask = ntohl (((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr);
      for (len = 0; mask & 0x80000000u; mask <<= 1)
        len++;
      ioctl (fd, SIOCGIFFLAGS, &ifr);
      dprintf (out, "eth0 %s/%u %s\n", fmt_addr (a), len, ifr.ifr_flags & IFF_UP ? "up" : "down");
    }
  close (fd);

  /* /proc/self/net follows the namespace we setns()ed into */
  f = fopen ("/proc/self/net/route", "re");
  while (f && fgets (line, sizeof line, f))
    {
      char ifname[32];
      unsigned dst, gw;

      if (sscanf (line, "%31s %x %x", ifname, &dst, &gw) == 3 && dst == 0)
        dprintf (out, "default via %s dev %s\n", fmt_addr (ntohl (gw)), ifname);
    }
  if (f)
    fclose (f);

  c = tcp_connect (p->gateway, p->port, 5);
  dprintf (out, "connect %s\n", c >= 0 ? "ok" : strerror (errno));
  if (c >= 0)
    close (c);
}

static void
test_container_setup (void **state)
{
  stack_error_t *err = NULL;
  net_bridge_t b;
  net_endpoint_t ep;
  struct probe probe;
  struct sockaddr_in sin;
  socklen_t slen = sizeof sin;
  char path[128], target[256], *report, *want, *s;
  ssize_t n;
  pid_t ns;
  int nsfd, listener;
  (void)state;

  it_require_root ();
  b = make_bridge ();
  ns = netns_child ();
  nsfd = open_netns (ns);

  ep = (net_endpoint_t){ .bridge = bridge,
                         .host_ifname = veth,
                         .ifname = "eth0",
                         .subnet = b.subnet,
                         .addr = b.gateway + 1,
                         .gateway = b.gateway };
  assert_ok (net_container_setup (nsfd, &ep, 1, &err), &err);

  /* the host end: enslaved to the bridge, up */
  snprintf (path, sizeof path, "/sys/class/net/%s/master", veth);
  n = readlink (path, target, sizeof target - 1);
  assert_true (n > 0);
  target[n] = '\0';
  assert_string_equal (basename (target), bridge);
  snprintf (path, sizeof path, "/sys/class/net/%s/flags", veth);
  s = slurp (path);
  assert_true (strtoul (s, NULL, 16) & IFF_UP);
  free (s);

  /* from inside: addresses, lo, the default route, and the gateway
     answers (a listener of ours on the host's side of the bridge) */
  listener = tcp_listen (b.gateway, 0);
  assert_true (listener >= 0);
  assert_int_equal (getsockname (listener, (struct sockaddr *)&sin, &slen), 0);
  probe.gateway = b.gateway;
  probe.port = ntohs (sin.sin_port);
  report = in_netns (ns, probe_from_inside, &probe);
  want = xasprintf ("lo up\neth0 %s/24 up\ndefault via %s dev eth0\nconnect ok\n",
                    fmt_addr (b.gateway + 1), fmt_addr (b.gateway));
  assert_string_equal (report, want);
  free (report);
  free (want);
  close (listener);

  /* a failure half-way removes what this call created, and only that:
     the second pair collides with the first one's host end */
  {
    net_endpoint_t eps[2] = { ep, ep };
    eps[0].host_ifname = veth2;
    eps[0].ifname = "eth1";
    eps[0].gateway = 0;
    eps[1].ifname = "eth2";
    eps[1].gateway = 0;
    assert_int_equal (net_container_setup (nsfd, eps, 2, &err), -1);
    assert_int_equal (err->status, EEXIST);
    want = xasprintf ("container network: create veth `%s` (peer `eth2` in the container) on "
                      "`%s`: Object exists",
                      veth, bridge);
    assert_string_equal (err->msg, want);
    free (want);
    stack_error_free (&err);
    snprintf (path, sizeof path, "/sys/class/net/%s", veth2);
    assert_int_equal (access (path, F_OK), -1);
    snprintf (path, sizeof path, "/sys/class/net/%s", veth);
    assert_int_equal (access (path, F_OK), 0);
  }
  close (nsfd);
}

/* ---- packet rules ---- */

static json_t *
nft_json (const char *cmd)
{
  struct nft_ctx *nft = nft_ctx_new (NFT_CTX_DEFAULT);
  json_t *doc;

  nft_ctx_buffer_output (nft);
  nft_ctx_buffer_error (nft);
  nft_ctx_output_set_flags (nft, NFT_CTX_OUTPUT_JSON);
  assert_int_equal (nft_run_cmd_from_buffer (nft, cmd), 0);
  doc = json_loads (nft_ctx_get_output_buffer (nft), 0, NULL);
  nft_ctx_free (nft);
  assert_non_null (doc);
  return doc;
}

/* What table `inet stack` holds, seen through libnftables' JSON: this
   project's chains in nft's order, its rule count, and what else is there
   (other stacks may be up on this machine while the test runs). */
struct table_view
{
  bool exists, forward_guard;
  int foreign; /* chains of other projects */
  int rules;   /* in this project's chains */
  char *ours;  /* "it-net-1-dnat it-net-1-output …" */
};

static bool
is_ours (const char *chain)
{
  static const char *const suffixes[] = { "dnat", "output", "snat", "filter", "guard" };
  size_t i, n = strlen (project);

  if (strncmp (chain, project, n) != 0 || chain[n] != '-')
    return false;
  for (i = 0; i < ARRAY_SIZE (suffixes); i++)
    if (strcmp (chain + n + 1, suffixes[i]) == 0)
      return true;
  return false;
}

static struct table_view
table_view (void)
{
  json_t *doc = nft_json ("list ruleset inet");
  json_t *items = json_object_get (doc, "nftables");
  struct table_view v = { 0 };
  strbuf_t b = { 0 };
  size_t i;

  for (i = 0; i < json_array_size (items); i++)
    {
      json_t *item = json_array_get (items, i);
      json_t *t = json_object_get (item, "table"), *c = json_object_get (item, "chain"),
             *r = json_object_get (item, "rule");
      const char *name;

      if (t && strcmp (json_string_value (json_object_get (t, "name")), "stack") == 0)
        v.exists = true;
      if (c && strcmp (json_string_value (json_object_get (c, "table")), "stack") == 0)
        {
          name = json_string_value (json_object_get (c, "name"));
          if (is_ours (name))
            sb_printf (&b, "%s%s", b.len ? " " : "", name);
          else if (strcmp (name, "forward-guard") == 0)
            v.forward_guard = true;
          else
            v.foreign++;
        }
      if (r && strcmp (json_string_value (json_object_get (r, "table")), "stack") == 0
          && is_ours (json_string_value (json_object_get (r, "chain"))))
        v.rules++;
    }
  json_decref (doc);
  v.ours = sb_steal (&b);
  return v;
}

/* CVE-2020-8558 from the container's side: with 127.0.0.1 gone from its
   own lo, 127.0.0.1 follows the default route to the gateway, and the
   host (route_localnet on the bridge) would deliver it to a service that
   listens on its loopback only. The attacker owns its side: route_localnet
   on its eth0 too, so that the answer from 127.0.0.1 is not dropped as a
   martian (a one-way UDP packet would need nothing). */
static void
reach_host_loopback (int out, void *arg)
{
  const uint16_t *port = arg;
  struct nl_sock *sk = nl_socket_alloc ();
  struct rtnl_addr *a = rtnl_addr_alloc ();
  uint32_t lo = htonl (0x7f000001);
  struct nl_addr *local = nl_addr_build (AF_INET, &lo, sizeof lo);
  int c;

  nl_connect (sk, NETLINK_ROUTE);
  rtnl_addr_set_ifindex (a, (int)if_nametoindex ("lo"));
  rtnl_addr_set_family (a, AF_INET);
  rtnl_addr_set_local (a, local);
  rtnl_addr_set_prefixlen (a, 8);
  rtnl_addr_delete (sk, a, 0); /* gone already the second time */
  c = open ("/proc/sys/net/ipv4/conf/eth0/route_localnet", O_WRONLY | O_CLOEXEC);
  if (c < 0 || write (c, "1", 1) != 1)
    dprintf (out, "route_localnet: %s; ", strerror (errno));
  close (c);
  c = tcp_connect (0x7f000001, *port, 1);
  dprintf (out, "connect %s", c >= 0 ? "ok" : strerror (errno));
}

struct server
{
  uint32_t addr;
  uint16_t port;
  int n;
  int ready;
};

/* Inside the container's namespace: answer n connections with the
   address each came from. */
static void
serve (struct server *s)
{
  int l = tcp_listen (s->addr, s->port), c, i;

  if (l < 0)
    {
      dprintf (s->ready, "listen: %s", strerror (errno));
      return;
    }
  if (write (s->ready, "r", 1) != 1)
    return;
  for (i = 0; i < s->n; i++)
    {
      struct sockaddr_in peer;
      socklen_t len = sizeof peer;

      c = accept (l, (struct sockaddr *)&peer, &len);
      if (c < 0)
        return;
      dprintf (c, "hello %s", fmt_addr (ntohl (peer.sin_addr.s_addr)));
      close (c);
    }
}

static pid_t
server_in_netns (pid_t ns, uint32_t addr, uint16_t port, int n)
{
  struct server s = { .addr = addr, .port = port, .n = n };
  int ready[2], nsfd = open_netns (ns);
  char c;
  pid_t pid;

  assert_int_equal (pipe2 (ready, O_CLOEXEC), 0);
  s.ready = ready[1];
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      if (setns (nsfd, CLONE_NEWNET) < 0)
        _exit (1);
      serve (&s);
      _exit (0);
    }
  track (pid);
  close (nsfd);
  close (ready[1]);
  assert_int_equal (read (ready[0], &c, 1), 1);
  assert_int_equal (c, 'r');
  close (ready[0]);
  return pid;
}

static char *
fetch (uint32_t addr, uint16_t port)
{
  char buf[128];
  ssize_t n;
  int fd = tcp_connect (addr, port, 5);

  if (fd < 0)
    return xasprintf ("connect: %s", strerror (errno));
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    return xasprintf ("read: %s", strerror (errno));
  buf[n] = '\0';
  return xstrdup (buf);
}

static void
test_rules_publish_a_port (void **state)
{
  stack_error_t *err = NULL;
  net_bridge_t b;
  net_endpoint_t ep;
  net_rules_bridge_t rb;
  net_port_t ports[2];
  net_rules_t r;
  uint16_t hp_any = 0, hp_lo = 0;
  int nsfd, res_any, res_lo, status, forward, loopback;
  uint16_t loopback_port;
  struct sockaddr_in sin;
  socklen_t slen = sizeof sin;
  struct table_view v, before;
  char *want, *got;
  pid_t ns, server;
  (void)state;

  it_require_root ();
  b = make_bridge ();
  ns = netns_child ();
  nsfd = open_netns (ns);
  ep = (net_endpoint_t){ .bridge = bridge,
                         .host_ifname = veth,
                         .ifname = "eth0",
                         .subnet = b.subnet,
                         .addr = b.gateway + 1,
                         .gateway = b.gateway };
  assert_ok (net_container_setup (nsfd, &ep, 1, &err), &err);
  close (nsfd);
  server = server_in_netns (ns, ep.addr, 8000, 2);

  /* a service on the host's loopback only; before the rules, the bridge's
     route_localnet lets the container in: CVE-2020-8558 is real here */
  loopback = tcp_listen (0x7f000001, 0);
  assert_true (loopback >= 0);
  assert_int_equal (getsockname (loopback, (struct sockaddr *)&sin, &slen), 0);
  loopback_port = ntohs (sin.sin_port);
  got = in_netns (ns, reach_host_loopback, &loopback_port);
  assert_string_equal (got, "connect ok");
  free (got);

  /* two published ports, reserved first as compose/ does: every address
     of the host, and 127.0.0.1 only */
  res_any = net_port_reserve (0, 0, 0, NET_TCP, &hp_any, &err);
  assert_ok (res_any, &err);
  res_lo = net_port_reserve (0x7f000001, 0, 0, NET_TCP, &hp_lo, &err);
  assert_ok (res_lo, &err);
  ports[0] = (net_port_t){ .host_ip = 0,
                           .host_port = hp_any,
                           .addr = ep.addr,
                           .container_port = 8000,
                           .protocol = NET_TCP,
                           .bridge = bridge };
  ports[1] = (net_port_t){ .host_ip = 0x7f000001,
                           .host_port = hp_lo,
                           .addr = ep.addr,
                           .container_port = 8000,
                           .protocol = NET_TCP,
                           .bridge = bridge };
  rb = (net_rules_bridge_t){ .name = bridge, .subnet = b.subnet, .internal = false };
  r = (net_rules_t){
    .project = project, .bridges = &rb, .n_bridges = 1, .ports = ports, .n_ports = 2
  };

  /* under the lock, ip_forward and the table are ours to read */
  lock ();
  forward = ip_forward ();
  assert_ok (net_rules_apply (&r, &err), &err);
  v = table_view ();
  want = xasprintf ("%s-dnat %s-output %s-snat %s-filter %s-guard", project, project, project,
                    project, project);
  assert_string_equal (v.ours, want);
  free (v.ours);
  /* dnat 1 (127.0.0.1 has none in prerouting), output 2, snat 3,
     filter 5, guard 1 */
  assert_int_equal (v.rules, 12);
  /* forwarding is on, and if it was off, forward-guard says we did it */
  assert_int_equal (ip_forward (), 1);
  if (forward == 0)
    assert_true (v.forward_guard);

  /* again: replaced, not doubled */
  assert_ok (net_rules_apply (&r, &err), &err);
  v = table_view ();
  assert_string_equal (v.ours, want);
  free (v.ours);
  free (want);
  assert_int_equal (v.rules, 12);
  unlock ();

  /* the guard chain closes it: the SYN is dropped, connect times out */
  got = in_netns (ns, reach_host_loopback, &loopback_port);
  assert_string_equal (got, "connect Operation now in progress");
  free (got);
  close (loopback);

  /* The host's 127.0.0.1 reaches the container through both ports, and
     the container sees the gateway: the packet left by the bridge with
     source 127.0.0.1 (route_localnet) and the snat chain masqueraded
     it — the container could not have answered 127.0.0.1. */
  want = xasprintf ("hello %s", fmt_addr (b.gateway));
  got = fetch (0x7f000001, hp_any);
  assert_string_equal (got, want);
  free (got);
  got = fetch (0x7f000001, hp_lo);
  assert_string_equal (got, want);
  free (got);
  free (want);
  status = reap (server);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  lock ();
  before = table_view ();
  free (before.ours);
  forward = ip_forward ();
  assert_ok (net_rules_remove (project, &err), &err);
  v = table_view ();
  assert_string_equal (v.ours, "");
  free (v.ours);
  if (before.foreign == 0)
    {
      /* the last project out: no table, forwarding as before us */
      assert_false (v.exists);
      assert_int_equal (ip_forward (), before.forward_guard ? 0 : forward);
    }
  else
    {
      /* other stacks are up: theirs stays, forwarding too */
      assert_true (v.exists);
      assert_int_equal (v.forward_guard, before.forward_guard);
      assert_int_equal (ip_forward (), forward);
    }
  /* idempotent: nothing (or no table at all) is fine */
  assert_ok (net_rules_remove (project, &err), &err);
  unlock ();
  close (res_any);
  close (res_lo);
}

/* ---- host ports ---- */

static void
test_port_reserve (void **state)
{
  stack_error_t *err = NULL;
  uint16_t p = 0, q = 0, got = 0;
  int a, b, c, u, fd, one = 1, tries;
  char *want;
  struct sockaddr_in sin = { .sin_family = AF_INET };
  (void)state;

  it_require_root ();

  /* port 0: the kernel's choice, reported */
  a = net_port_reserve (0x7f000001, 0, 0, NET_TCP, &p, &err);
  assert_ok (a, &err);
  assert_int_not_equal (p, 0);

  /* the same port again: EADDRINUSE, naming who holds it (us) */
  assert_int_equal (net_port_reserve (0x7f000001, p, p, NET_TCP, &got, &err), -1);
  assert_int_equal (err->status, EADDRINUSE);
  want = xasprintf ("127.0.0.1:%u/tcp is already in use by pid %d (test_network); stop it or "
                    "publish another host port",
                    p, (int)getpid ());
  assert_string_equal (err->msg, want);
  free (want);
  stack_error_free (&err);

  /* every address collides with one address */
  assert_int_equal (net_port_reserve (0, p, p, NET_TCP, &got, &err), -1);
  assert_int_equal (err->status, EADDRINUSE);
  want = xasprintf ("0.0.0.0:%u/tcp is already in use by pid %d (test_network); stop it or "
                    "publish another host port",
                    p, (int)getpid ());
  assert_string_equal (err->msg, want);
  free (want);
  stack_error_free (&err);

  /* a server that sets SO_REUSEADDR, as most do, cannot take it either */
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sin.sin_addr.s_addr = htonl (0x7f000001);
  sin.sin_port = htons (p);
  assert_int_equal (bind (fd, (struct sockaddr *)&sin, sizeof sin), -1);
  assert_int_equal (errno, EADDRINUSE);
  close (fd);

  /* a range skips a taken port: find p2 free right after a held p1 */
  for (tries = 0; tries < 50; tries++)
    {
      b = net_port_reserve (0x7f000001, 0, 0, NET_TCP, &q, &err);
      assert_ok (b, &err);
      if (q < 65535)
        {
          c = net_port_reserve (0x7f000001, (uint16_t)(q + 1), (uint16_t)(q + 1), NET_TCP, &got,
                                &err);
          if (c >= 0)
            {
              close (c); /* q+1 is free now, q is held */
              break;
            }
          stack_error_free (&err);
        }
      close (b);
    }
  assert_true (tries < 50);
  c = net_port_reserve (0x7f000001, q, (uint16_t)(q + 1), NET_TCP, &got, &err);
  assert_ok (c, &err);
  assert_int_equal (got, q + 1);
  close (c);
  close (b);

  /* UDP: the same, through /proc/net/udp */
  u = net_port_reserve (0x7f000001, 0, 0, NET_UDP, &q, &err);
  assert_ok (u, &err);
  assert_int_not_equal (q, 0);
  assert_int_equal (net_port_reserve (0x7f000001, q, q, NET_UDP, &got, &err), -1);
  assert_int_equal (err->status, EADDRINUSE);
  want = xasprintf ("127.0.0.1:%u/udp is already in use by pid %d (test_network); stop it or "
                    "publish another host port",
                    q, (int)getpid ());
  assert_string_equal (err->msg, want);
  free (want);
  stack_error_free (&err);
  close (u);

  /* released: free again */
  close (a);
  a = net_port_reserve (0x7f000001, p, p, NET_TCP, &got, &err);
  assert_ok (a, &err);
  assert_int_equal (got, p);
  close (a);
}

/* ---- the lock ---- */

static long long
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_lock_waits_for_the_holder (void **state)
{
  struct pollfd pfd;
  int p[2], status;
  long long t0;
  char c;
  pid_t pid;
  (void)state;

  it_require_root ();
  lock ();
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      stack_error_t *cerr = NULL;
      int l;

      /* a forked copy of the lock fd would keep the lock held */
      close (held_lock);
      close (p[0]);
      l = net_lock (&cerr);
      if (l < 0 || write (p[1], "L", 1) != 1)
        _exit (1);
      net_unlock (l);
      _exit (0);
    }
  track (pid);
  close (p[1]);
  t0 = now_ms ();
  pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
  /* held: the child waits */
  assert_int_equal (poll (&pfd, 1, 300), 0);
  unlock ();
  /* released: it gets it within its 10 ms retry, well within a second */
  assert_int_equal (poll (&pfd, 1, 1000), 1);
  assert_int_equal (read (p[0], &c, 1), 1);
  assert_int_equal (c, 'L');
  assert_true (now_ms () - t0 >= 300);
  status = reap (pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  close (p[0]);

  /* and we get it back */
  lock ();
  unlock ();
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_bridge_create_lookup_delete, teardown),
    cmocka_unit_test_teardown (test_container_setup, teardown),
    cmocka_unit_test_teardown (test_rules_publish_a_port, teardown),
    cmocka_unit_test_teardown (test_port_reserve, teardown),
    cmocka_unit_test_teardown (test_lock_waits_for_the_holder, teardown),
  };
  return cmocka_run_group_tests (tests, group_setup, NULL);
}

/* test_security.c — capabilities, no_new_privs, the default seccomp filter
   and sysctls, each applied in a forked child (the container's last steps
   before execve) and read back there: /proc/self/status and the exact
   errno of the syscalls the filter is about. The child reports in text
   through a pipe; the parent compares the whole report. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it-helpers.h"
#include "runtime-internal.h"

#define DOCKER_DEFAULT_CAPS 0xa80425fbULL
#define CAP_NET_ADMIN_BIT (1ULL << 12)
#define CAP_SYS_ADMIN_BIT (1ULL << 21)
#define CAP_SYS_BOOT_BIT (1ULL << 22)

typedef void (*child_fn) (strbuf_t *out, const void *arg);

/* fn runs in a forked child, which is reaped here; returns its report. */
static char *
in_child (child_fn fn, const void *arg)
{
  stack_error_t *err = NULL;
  char *out = NULL;
  int fds[2], status;
  pid_t pid;

  assert_int_equal (pipe2 (fds, O_CLOEXEC), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      strbuf_t b = { 0 };
      size_t done = 0;

      close (fds[0]);
      fn (&b, arg);
      while (done < b.len)
        {
          ssize_t n = write (fds[1], b.s + done, b.len - done);
          if (n <= 0)
            _exit (2);
          done += (size_t) n;
        }
      _exit (0);
    }
  close (fds[1]);
  assert_int_equal (read_fd (fds[0], "child report", &out, NULL, &err), 0);
  close (fds[0]);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  return out;
}

/* The lines of /proc/self/status that say what the process may do. */
static void
report_status (strbuf_t *b)
{
  static const char *const keys[]
      = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:" };
  stack_error_t *err = NULL;
  char *status = NULL, *line, *save = NULL;
  size_t i;

  if (read_file ("/proc/self/status", &status, NULL, &err) < 0)
    {
      sb_printf (b, "error: %s\n", err->msg);
      stack_error_free (&err);
      return;
    }
  for (line = strtok_r (status, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    for (i = 0; i < ARRAY_SIZE (keys); i++)
      if (str_has_prefix (line, keys[i]))
        sb_printf (b, "%s\n", line);
  free (status);
}

static bool
apply (strbuf_t *b, const container_spec_t *spec)
{
  stack_error_t *err = NULL;

  if (rt_security_apply (spec, &err) < 0)
    {
      sb_printf (b, "error: %s\n", err->msg);
      stack_error_free (&err);
      return false;
    }
  return true;
}

static void
apply_and_report (strbuf_t *b, const void *arg)
{
  if (apply (b, arg))
    report_status (b);
}

static container_spec_t
spec_with (uint64_t caps)
{
  container_spec_t spec;

  memset (&spec, 0, sizeof spec);
  spec.caps = caps;
  return spec;
}

static char *
expected_status (uint64_t prm, uint64_t bnd, int nnp, int seccomp)
{
  return xasprintf ("CapInh:\t0000000000000000\nCapPrm:\t%016llx\nCapEff:\t%016llx\n"
                    "CapBnd:\t%016llx\nCapAmb:\t0000000000000000\nNoNewPrivs:\t%d\nSeccomp:\t%d\n",
                    (unsigned long long) prm, (unsigned long long) prm,
                    (unsigned long long) bnd, nnp, seccomp);
}

static void
check_status (const container_spec_t *spec, uint64_t prm, uint64_t bnd, int nnp, int seccomp)
{
  char *want = expected_status (prm, bnd, nnp, seccomp);
  char *got = in_child (apply_and_report, spec);

  assert_string_equal (got, want);
  free (got);
  free (want);
}

/* ---- capabilities ---- */

static void
test_cap_parse (void **state)
{
  uint64_t bits = 0;
  (void) state;

  assert_true (rt_cap_parse ("NET_ADMIN", &bits));
  assert_int_equal (bits, CAP_NET_ADMIN_BIT);
  bits = 0;
  assert_true (rt_cap_parse ("CAP_NET_ADMIN", &bits));
  assert_int_equal (bits, CAP_NET_ADMIN_BIT);
  bits = 0;
  assert_true (rt_cap_parse ("cap_Net_Admin", &bits));
  assert_int_equal (bits, CAP_NET_ADMIN_BIT);
  assert_true (rt_cap_parse ("chown", &bits));
  assert_int_equal (bits, 1);
  assert_true (rt_cap_parse ("CAP_CHECKPOINT_RESTORE", &bits));
  assert_int_equal (bits, 1ULL << 40);
  assert_true (rt_cap_parse ("ALL", &bits));
  assert_int_equal (bits, 0x1ffffffffffULL);
  bits = 0;
  assert_true (rt_cap_parse ("all", &bits));
  assert_int_equal (bits, 0x1ffffffffffULL);
  bits = 7;
  assert_false (rt_cap_parse ("CAP_ALL", &bits));
  assert_false (rt_cap_parse ("NET_ADMINS", &bits));
  assert_false (rt_cap_parse ("CAP_", &bits));
  assert_false (rt_cap_parse ("", &bits));
  assert_false (rt_cap_parse (NULL, &bits));
  assert_int_equal (bits, 7); /* untouched on failure */
}

static void
test_default_caps_are_dockers (void **state)
{
  (void) state;
  assert_int_equal (rt_default_caps (), DOCKER_DEFAULT_CAPS);
}

static void
test_caps_default (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps ());
  (void) state;

  it_require_root ();
  check_status (&spec, DOCKER_DEFAULT_CAPS, DOCKER_DEFAULT_CAPS, 0, 2);
}

static void
test_caps_add_net_admin (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps () | CAP_NET_ADMIN_BIT);
  (void) state;

  it_require_root ();
  check_status (&spec, 0xa80435fbULL, 0xa80435fbULL, 0, 2);
}

static void
test_caps_drop_all (void **state)
{
  container_spec_t spec = spec_with (0);
  (void) state;

  it_require_root ();
  /* the filter still loads: it goes in before the last capability leaves */
  check_status (&spec, 0, 0, 0, 2);
}

static uint64_t
own_bounding_set (void)
{
  stack_error_t *err = NULL;
  char *status = NULL, *p;
  uint64_t bnd;

  assert_int_equal (read_file ("/proc/self/status", &status, NULL, &err), 0);
  p = strstr (status, "CapBnd:\t");
  assert_non_null (p);
  bnd = strtoull (p + strlen ("CapBnd:\t"), NULL, 16);
  free (status);
  return bnd;
}

static void
test_caps_privileged (void **state)
{
  container_spec_t spec = spec_with (0);
  (void) state;

  it_require_root ();
  spec.privileged = true;
  /* everything we hold (this host withholds CAP_SYS_RESOURCE), no filter */
  check_status (&spec, own_bounding_set (), own_bounding_set (), 0, 0);
}

static void
test_caps_not_held (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps () | (1ULL << 24));
  char *got;
  (void) state;

  it_require_root ();
  if ((own_bounding_set () & (1ULL << 24)) != 0)
    skip (); /* this host gives us CAP_SYS_RESOURCE: nothing to ask for in vain */
  got = in_child (apply_and_report, &spec);
  assert_string_equal (got, "error: capability `CAP_SYS_RESOURCE` is not held by stack itself\n");
  free (got);
}

static void
test_caps_unconfined_and_nnp (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps ());
  (void) state;

  it_require_root ();
  spec.seccomp_unconfined = true;
  check_status (&spec, DOCKER_DEFAULT_CAPS, DOCKER_DEFAULT_CAPS, 0, 0);
  spec.no_new_privileges = true;
  check_status (&spec, DOCKER_DEFAULT_CAPS, DOCKER_DEFAULT_CAPS, 1, 0);
  spec.seccomp_unconfined = false;
  check_status (&spec, DOCKER_DEFAULT_CAPS, DOCKER_DEFAULT_CAPS, 1, 2);
}

typedef struct user_switch
{
  container_spec_t spec;
  bool prepare;
} user_switch_t;

/* As spawn.c does it: prepare, switch user, apply. */
static void
switch_user_and_report (strbuf_t *b, const void *arg)
{
  const user_switch_t *u = arg;
  const container_spec_t *spec = &u->spec;
  stack_error_t *err = NULL;

  if (u->prepare && rt_security_prepare (spec, &err) < 0)
    {
      sb_printf (b, "error: %s\n", err->msg);
      stack_error_free (&err);
      return;
    }
  if (setgroups (0, NULL) < 0 || setgid (1000) < 0 || setuid (1000) < 0)
    {
      sb_printf (b, "error: switch user: %s\n", strerror (errno));
      return;
    }
  apply_and_report (b, spec);
}

static void
test_caps_non_root_user (void **state)
{
  user_switch_t u = { spec_with (rt_default_caps () | CAP_NET_ADMIN_BIT), true };
  char *want = expected_status (0, 0xa80435fbULL, 0, 2);
  char *got;
  (void) state;

  it_require_root ();
  /* Docker: a non-root user starts with nothing; the set bounds what file
     capabilities can give at execve */
  got = in_child (switch_user_and_report, &u);
  assert_string_equal (got, want);
  free (got);
  free (want);
}

static void
test_caps_non_root_without_prepare (void **state)
{
  user_switch_t u = { spec_with (rt_default_caps ()), false };
  char *got;
  (void) state;

  it_require_root ();
  got = in_child (switch_user_and_report, &u);
  assert_string_equal (got, "error: capabilities were lost at the user switch: "
                            "rt_security_prepare must run before setuid\n");
  free (got);
}

/* After execve, root keeps exactly the set: the kernel recomputes the
   permitted set from the bounding set there. */
static void
test_caps_survive_execve (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps ());
  int fds[2], status;
  char *out = NULL;
  stack_error_t *err = NULL;
  pid_t pid;
  (void) state;

  it_require_root ();
  assert_int_equal (pipe2 (fds, O_CLOEXEC), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      static char *const argv[] = { "busybox", "grep", "^Cap", "/proc/self/status", NULL };
      stack_error_t *e = NULL;

      if (dup2 (fds[1], STDOUT_FILENO) < 0 || rt_security_apply (&spec, &e) < 0)
        _exit (3);
      execv ("/bin/busybox", argv);
      _exit (127);
    }
  close (fds[1]);
  assert_int_equal (read_fd (fds[0], "busybox grep", &out, NULL, &err), 0);
  close (fds[0]);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_string_equal (out, "CapInh:\t0000000000000000\n"
                            "CapPrm:\t00000000a80425fb\n"
                            "CapEff:\t00000000a80425fb\n"
                            "CapBnd:\t00000000a80425fb\n"
                            "CapAmb:\t0000000000000000\n");
  free (out);
}

/* ---- the default seccomp filter ---- */

static void
outcome (strbuf_t *b, const char *what, long ret)
{
  sb_printf (b, "%s=%s\n", what, ret < 0 ? strerrorname_np (errno) : "ok");
}

static void *
thread_fn (void *arg)
{
  return arg;
}

/* A process made by clone without namespace flags (what fork does). */
static long
fork_and_reap (void)
{
  int status;
  pid_t pid = fork ();

  if (pid < 0)
    return -1;
  if (pid == 0)
    _exit (7);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 7)
    return errno = ECHILD, -1;
  return 0;
}

/* raw clone, fork-like (no new stack); a child that appears exits at once */
static long
clone_with (unsigned long flags)
{
  int status;
  long pid = syscall (SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);

  if (pid == 0)
    _exit (0);
  if (pid > 0)
    waitpid ((pid_t) pid, &status, 0);
  return pid < 0 ? -1 : 0;
}

static long
ptrace_traceme_in_child (void)
{
  int status;
  pid_t pid = fork ();

  if (pid < 0)
    return -1;
  if (pid == 0)
    _exit (ptrace (PTRACE_TRACEME, 0, NULL, NULL) < 0 ? errno : 0);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status))
    return errno = ECHILD, -1;
  if (WEXITSTATUS (status) != 0)
    return errno = WEXITSTATUS (status), -1;
  return 0;
}

/* The syscalls the filter decides about, in a fixed order. */
static void
probe_syscalls (strbuf_t *b, const void *arg)
{
  pthread_t th;
  int fds[2];
  char c = 'x';
  long ret;

  if (!apply (b, arg))
    return;
  outcome (b, "getpid", getpid ());
  ret = pipe (fds);
  if (ret == 0)
    {
      ret = write (fds[1], &c, 1) == 1 ? read (fds[0], &c, 1) : -1;
      close (fds[0]);
      close (fds[1]);
    }
  outcome (b, "read", ret);
  outcome (b, "fork", fork_and_reap ());
  ret = pthread_create (&th, NULL, thread_fn, NULL);
  if (ret == 0)
    pthread_join (th, NULL);
  else
    errno = (int) ret, ret = -1;
  outcome (b, "pthread_create", ret);
  outcome (b, "ptrace(TRACEME)", ptrace_traceme_in_child ());
  outcome (b, "mount", mount ("none", "/nonexistent-stack-it", "tmpfs", 0, NULL));
  outcome (b, "umount2", umount2 ("/", 0x7fff0000));
  outcome (b, "keyctl", syscall (SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  outcome (b, "kcmp", syscall (SYS_kcmp, getpid (), getpid (), KCMP_VM, 0, 0));
  outcome (b, "kexec_load", syscall (SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
  outcome (b, "reboot", syscall (SYS_reboot, 0, 0, 0, NULL));
  outcome (b, "clone3", syscall (SYS_clone3, NULL, 0));
  outcome (b, "personality(ADDR_NO_RANDOMIZE)", personality (ADDR_NO_RANDOMIZE));
  outcome (b, "personality(query)", personality (0xffffffff));
  outcome (b, "personality(PER_LINUX32)", personality (PER_LINUX32));
  outcome (b, "io_uring_setup", syscall (SYS_io_uring_setup, 0, NULL));
  outcome (b, "unshare(NEWNS)", unshare (CLONE_NEWNS));
  outcome (b, "unshare(NEWUTS)", unshare (CLONE_NEWUTS));
  outcome (b, "clone(NEWUSER)", clone_with (CLONE_NEWUSER));
  /* last: it succeeds when nothing stops it, and changes the child */
  outcome (b, "unshare(NEWUSER)", unshare (CLONE_NEWUSER));
}

static void
check_probes (const container_spec_t *spec, const char *want)
{
  char *got = in_child (probe_syscalls, spec);

  assert_string_equal (got, want);
  free (got);
}

static const char common_ok[] = "getpid=ok\nread=ok\nfork=ok\npthread_create=ok\n"
                                "ptrace(TRACEME)=ok\n";

static void
test_seccomp_default_filter (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps ());
  char *want;
  (void) state;

  it_require_root ();
  /* What the kernel alone would answer is in the next test: every EPERM
     below that differs from it is the filter's. */
  want = xasprintf ("%smount=EPERM\numount2=EPERM\nkeyctl=EPERM\nkcmp=EPERM\nkexec_load=EPERM\n"
                    "reboot=EPERM\nclone3=ENOSYS\npersonality(ADDR_NO_RANDOMIZE)=EPERM\n"
                    "personality(query)=ok\npersonality(PER_LINUX32)=ok\nio_uring_setup=EPERM\n"
                    "unshare(NEWNS)=EPERM\nunshare(NEWUTS)=EPERM\nclone(NEWUSER)=EPERM\n"
                    "unshare(NEWUSER)=EPERM\n",
                    common_ok);
  check_probes (&spec, want);
  free (want);
}

static void
test_seccomp_unconfined_control (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps ());
  const char *kexec;
  char *want;
  (void) state;

  it_require_root ();
  spec.seccomp_unconfined = true;
  /* a kernel built without kexec has no such syscall (this one) */
  kexec = access ("/proc/sys/kernel/kexec_load_disabled", F_OK) == 0 ? "EPERM" : "ENOSYS";
  want = xasprintf ("%smount=ENOENT\numount2=EINVAL\nkeyctl=ok\nkcmp=ok\nkexec_load=%s\n"
                    "reboot=EPERM\nclone3=EINVAL\npersonality(ADDR_NO_RANDOMIZE)=ok\n"
                    "personality(query)=ok\npersonality(PER_LINUX32)=ok\nio_uring_setup=EFAULT\n"
                    "unshare(NEWNS)=EPERM\nunshare(NEWUTS)=EPERM\nclone(NEWUSER)=ok\n"
                    "unshare(NEWUSER)=ok\n",
                    common_ok, kexec);
  check_probes (&spec, want);
  free (want);
}

static void
test_seccomp_with_sys_admin_and_sys_boot (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps () | CAP_SYS_ADMIN_BIT | CAP_SYS_BOOT_BIT);
  char *want;
  (void) state;

  it_require_root ();
  /* Docker's conditional rules: CAP_SYS_ADMIN opens mount, unshare and
     clone3, CAP_SYS_BOOT reboot; kexec, keyctl and io_uring stay shut */
  want = xasprintf ("%smount=ENOENT\numount2=EINVAL\nkeyctl=EPERM\nkcmp=EPERM\nkexec_load=EPERM\n"
                    "reboot=EINVAL\nclone3=EINVAL\npersonality(ADDR_NO_RANDOMIZE)=EPERM\n"
                    "personality(query)=ok\npersonality(PER_LINUX32)=ok\nio_uring_setup=EPERM\n"
                    "unshare(NEWNS)=ok\nunshare(NEWUTS)=ok\nclone(NEWUSER)=ok\n"
                    "unshare(NEWUSER)=ok\n",
                    common_ok);
  check_probes (&spec, want);
  free (want);
}

/* personality: only 0, PER_LINUX32, UNAME26, both, and the query value
   pass; every other value is refused, whatever its bits. */
static void
probe_personality (strbuf_t *b, const void *arg)
{
  uint32_t values[128], v = 12345;
  size_t n = 0, i, wrong = 0;

  if (!apply (b, arg))
    return;
  for (i = 0; i < 32; i++)
    values[n++] = 1U << i;
  values[n++] = 0;
  values[n++] = 0x20008;
  values[n++] = 0xffffffff;
  values[n++] = 0xfffdfff7;
  values[n++] = 0xfffdffff;
  values[n++] = 0xfffffff7;
  values[n++] = 0xfffffffe;
  values[n++] = 0x7fffffff;
  while (n < ARRAY_SIZE (values))
    values[n++] = v = v * 1103515245U + 12345U;
  for (i = 0; i < n; i++)
    {
      bool allowed = (values[i] & ~0x20008U) == 0 || values[i] == 0xffffffff;
      bool refused = personality (values[i]) == -1 && errno == EPERM;

      if (allowed == refused)
        {
          sb_printf (b, "%#x: %s\n", values[i], refused ? "refused" : "allowed");
          wrong++;
        }
      personality (PER_LINUX);
    }
  sb_printf (b, "%zu values, %zu wrong\n", n, wrong);
}

static void
test_seccomp_personality (void **state)
{
  container_spec_t spec = spec_with (rt_default_caps ());
  char *got;
  (void) state;

  it_require_root ();
  got = in_child (probe_personality, &spec);
  assert_string_equal (got, "128 values, 0 wrong\n");
  free (got);
}

/* ---- sysctls ---- */

static void
test_sysctl_allowed (void **state)
{
  static const struct
  {
    const char *key, *why;
  } cases[] = {
    { "kernel.shm_rmid_forced", NULL },
    { "kernel.msgmax", NULL },
    { "kernel.sem", NULL },
    { "fs.mqueue.msg_max", NULL },
    { "net.ipv4.ip_forward", NULL },
    { "net.ipv4.conf.eth0/100.rp_filter", NULL },
    { "kernel.panic", "not namespaced: it would change the whole host" },
    { "vm.swappiness", "not namespaced: it would change the whole host" },
    { "fs.file-max", "not namespaced: it would change the whole host" },
    { "kernel.shm_rmid_forced_x", "not namespaced: it would change the whole host" },
    { "kernel.hostname", "set with the `hostname` and `domainname` options, not as a sysctl" },
    { "net.", "not a valid sysctl name" },
    { "fs.mqueue.", "not a valid sysctl name" },
    { "", "not a valid sysctl name" },
    { "net.ipv4..ip_forward", "not a valid sysctl name" },
    { "net/../../kernel/panic", "not a valid sysctl name" },
    { "net.ipv4.ip forward", "not a valid sysctl name" },
  };
  size_t i;
  (void) state;

  for (i = 0; i < ARRAY_SIZE (cases); i++)
    {
      const char *why = "unset";
      bool ok = rt_sysctl_allowed (cases[i].key, &why);

      if (cases[i].why == NULL)
        {
          assert_true (ok);
          assert_null (why);
        }
      else
        {
          assert_false (ok);
          assert_string_equal (why, cases[i].why);
        }
    }
}

static void
check_sysctls_error (const container_spec_t *spec, const char *want)
{
  stack_error_t *err = NULL;

  assert_int_equal (rt_sysctls_check (spec, &err), -1);
  assert_string_equal (err->msg, want);
  stack_error_free (&err);
}

static void
test_sysctls_check (void **state)
{
  static const char *const fine[] = { "net.ipv4.ip_forward=1", "kernel.shmmax=1000000", NULL };
  static const char *const panic[] = { "net.ipv4.ip_forward=1", "kernel.panic=10", NULL };
  static const char *const net[] = { "net.core.somaxconn=1024", NULL };
  static const char *const ipc[] = { "fs.mqueue.msg_max=20", NULL };
  static const char *const noeq[] = { "net.core.somaxconn", NULL };
  container_spec_t spec = spec_with (0);
  stack_error_t *err = NULL;
  (void) state;

  spec.sysctls = fine;
  assert_int_equal (rt_sysctls_check (&spec, &err), 0);
  spec.sysctls = NULL;
  assert_int_equal (rt_sysctls_check (&spec, &err), 0);
  spec.sysctls = panic;
  check_sysctls_error (&spec,
                       "sysctl `kernel.panic` is not namespaced: it would change the whole host");
  spec.sysctls = noeq;
  check_sysctls_error (&spec, "sysctl `net.core.somaxconn`: expected KEY=VALUE");
  spec.host_net = true;
  spec.sysctls = net;
  check_sysctls_error (&spec, "sysctl `net.core.somaxconn` is not namespaced with host networking: "
                              "it would change the host's network stack");
  spec.sysctls = ipc;
  assert_int_equal (rt_sysctls_check (&spec, &err), 0);
  spec.host_ipc = true;
  check_sysctls_error (&spec, "sysctl `fs.mqueue.msg_max` is not namespaced with the host's IPC "
                              "namespace: it would change the host's IPC limits");
}

static long
read_long (const char *path)
{
  stack_error_t *err = NULL;
  char *s = NULL;
  long v;

  if (read_file (path, &s, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return -1;
    }
  v = strtol (s, NULL, 10);
  free (s);
  return v;
}

typedef struct sysctl_case
{
  int ns;           /* namespace to make first */
  const char *kv;   /* what to apply */
  const char *path; /* what to read back */
} sysctl_case_t;

static void
apply_sysctl_in_ns (strbuf_t *b, const void *arg)
{
  const sysctl_case_t *c = arg;
  const char *const sysctls[] = { c->kv, NULL };
  stack_error_t *err = NULL;

  if (c->ns != 0 && unshare (c->ns) < 0)
    {
      sb_printf (b, "unshare: %s\n", strerror (errno));
      return;
    }
  if (rt_sysctls_apply (sysctls, &err) < 0)
    {
      sb_printf (b, "error: %s\n", err->msg);
      stack_error_free (&err);
      return;
    }
  sb_printf (b, "%ld\n", read_long (c->path));
}

static void
check_sysctl_stays_in_ns (int ns, const char *key, const char *path, long v1, long v2)
{
  long host = read_long (path), mine = host == v1 ? v2 : v1;
  char *kv = xasprintf ("%s=%ld", key, mine), *want = xasprintf ("%ld\n", mine), *got;
  sysctl_case_t c = { ns, kv, path };

  assert_true (host >= 0);
  got = in_child (apply_sysctl_in_ns, &c);
  assert_string_equal (got, want);
  assert_int_equal (read_long (path), host); /* the host's value did not move */
  free (got);
  free (want);
  free (kv);
}

static void
test_sysctl_ipc_namespace (void **state)
{
  (void) state;
  it_require_root ();
  check_sysctl_stays_in_ns (CLONE_NEWIPC, "kernel.shm_rmid_forced",
                            "/proc/sys/kernel/shm_rmid_forced", 1, 0);
}

static void
test_sysctl_net_namespace (void **state)
{
  (void) state;
  it_require_root ();
  check_sysctl_stays_in_ns (CLONE_NEWNET, "net.ipv4.ip_unprivileged_port_start",
                            "/proc/sys/net/ipv4/ip_unprivileged_port_start", 80, 81);
}

static void
test_sysctls_apply_refuses (void **state)
{
  sysctl_case_t panic = { 0, "kernel.panic=10", "/proc/sys/kernel/panic" };
  sysctl_case_t missing = { CLONE_NEWNET, "net.ipv4.no_such_knob=1", "/dev/null" };
  long before;
  char *got;
  (void) state;

  it_require_root ();
  before = read_long ("/proc/sys/kernel/panic");
  got = in_child (apply_sysctl_in_ns, &panic);
  assert_string_equal (got, "error: sysctl `kernel.panic` is not namespaced: "
                            "it would change the whole host\n");
  assert_int_equal (read_long ("/proc/sys/kernel/panic"), before);
  free (got);
  got = in_child (apply_sysctl_in_ns, &missing);
  assert_string_equal (got, "error: sysctl `net.ipv4.no_such_knob`: open "
                            "`/proc/sys/net/ipv4/no_such_knob`: No such file or directory\n");
  free (got);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cap_parse),
    cmocka_unit_test (test_default_caps_are_dockers),
    cmocka_unit_test (test_caps_default),
    cmocka_unit_test (test_caps_add_net_admin),
    cmocka_unit_test (test_caps_drop_all),
    cmocka_unit_test (test_caps_privileged),
    cmocka_unit_test (test_caps_not_held),
    cmocka_unit_test (test_caps_unconfined_and_nnp),
    cmocka_unit_test (test_caps_non_root_user),
    cmocka_unit_test (test_caps_non_root_without_prepare),
    cmocka_unit_test (test_caps_survive_execve),
    cmocka_unit_test (test_seccomp_default_filter),
    cmocka_unit_test (test_seccomp_unconfined_control),
    cmocka_unit_test (test_seccomp_with_sys_admin_and_sys_boot),
    cmocka_unit_test (test_seccomp_personality),
    cmocka_unit_test (test_sysctl_allowed),
    cmocka_unit_test (test_sysctls_check),
    cmocka_unit_test (test_sysctl_ipc_namespace),
    cmocka_unit_test (test_sysctl_net_namespace),
    cmocka_unit_test (test_sysctls_apply_refuses),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

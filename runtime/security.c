/* security.c — what a container may do: capabilities, no_new_privs, the
   syscall filter (seccomp.c) and its namespaced sysctls.

   The order in the child (runc's, see runtime-internal.h):
     rt_security_prepare   still root: keep the permitted set across setuid
     setgroups/setgid/setuid
     rt_security_apply     bounding set, ambient, no_new_privs, seccomp,
                           then permitted/effective/inheritable
     execve */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "security-internal.h"

#define CAPBIT(c) (1ULL << (c))

static const char *const cap_names[] = {
  [CAP_CHOWN] = "CHOWN",
  [CAP_DAC_OVERRIDE] = "DAC_OVERRIDE",
  [CAP_DAC_READ_SEARCH] = "DAC_READ_SEARCH",
  [CAP_FOWNER] = "FOWNER",
  [CAP_FSETID] = "FSETID",
  [CAP_KILL] = "KILL",
  [CAP_SETGID] = "SETGID",
  [CAP_SETUID] = "SETUID",
  [CAP_SETPCAP] = "SETPCAP",
  [CAP_LINUX_IMMUTABLE] = "LINUX_IMMUTABLE",
  [CAP_NET_BIND_SERVICE] = "NET_BIND_SERVICE",
  [CAP_NET_BROADCAST] = "NET_BROADCAST",
  [CAP_NET_ADMIN] = "NET_ADMIN",
  [CAP_NET_RAW] = "NET_RAW",
  [CAP_IPC_LOCK] = "IPC_LOCK",
  [CAP_IPC_OWNER] = "IPC_OWNER",
  [CAP_SYS_MODULE] = "SYS_MODULE",
  [CAP_SYS_RAWIO] = "SYS_RAWIO",
  [CAP_SYS_CHROOT] = "SYS_CHROOT",
  [CAP_SYS_PTRACE] = "SYS_PTRACE",
  [CAP_SYS_PACCT] = "SYS_PACCT",
  [CAP_SYS_ADMIN] = "SYS_ADMIN",
  [CAP_SYS_BOOT] = "SYS_BOOT",
  [CAP_SYS_NICE] = "SYS_NICE",
  [CAP_SYS_RESOURCE] = "SYS_RESOURCE",
  [CAP_SYS_TIME] = "SYS_TIME",
  [CAP_SYS_TTY_CONFIG] = "SYS_TTY_CONFIG",
  [CAP_MKNOD] = "MKNOD",
  [CAP_LEASE] = "LEASE",
  [CAP_AUDIT_WRITE] = "AUDIT_WRITE",
  [CAP_AUDIT_CONTROL] = "AUDIT_CONTROL",
  [CAP_SETFCAP] = "SETFCAP",
  [CAP_MAC_OVERRIDE] = "MAC_OVERRIDE",
  [CAP_MAC_ADMIN] = "MAC_ADMIN",
  [CAP_SYSLOG] = "SYSLOG",
  [CAP_WAKE_ALARM] = "WAKE_ALARM",
  [CAP_BLOCK_SUSPEND] = "BLOCK_SUSPEND",
  [CAP_AUDIT_READ] = "AUDIT_READ",
  [CAP_PERFMON] = "PERFMON",
  [CAP_BPF] = "BPF",
  [CAP_CHECKPOINT_RESTORE] = "CHECKPOINT_RESTORE",
};

/* Docker's default set, not Podman's smaller one: Compose files written
   for Docker rely on ping (NET_RAW), mknod in entrypoints (MKNOD) and
   su/sudo/sshd writing to the audit log (AUDIT_WRITE). docs/security.md
   weighs the choice. */
uint64_t
rt_default_caps (void)
{
  return CAPBIT (CAP_CHOWN) | CAPBIT (CAP_DAC_OVERRIDE) | CAPBIT (CAP_FSETID) | CAPBIT (CAP_FOWNER)
         | CAPBIT (CAP_MKNOD) | CAPBIT (CAP_NET_RAW) | CAPBIT (CAP_SETGID) | CAPBIT (CAP_SETUID)
         | CAPBIT (CAP_SETFCAP) | CAPBIT (CAP_SETPCAP) | CAPBIT (CAP_NET_BIND_SERVICE)
         | CAPBIT (CAP_SYS_CHROOT) | CAPBIT (CAP_KILL) | CAPBIT (CAP_AUDIT_WRITE);
}

bool
rt_cap_parse (const char *name, uint64_t *bits)
{
  size_t i;

  if (name == NULL)
    return false;
  /* Docker: "ALL" but not "CAP_ALL" */
  if (strcasecmp (name, "ALL") == 0)
    {
      *bits = (CAPBIT (ARRAY_SIZE (cap_names) - 1) << 1) - 1;
      return true;
    }
  if (strncasecmp (name, "CAP_", 4) == 0)
    name += 4;
  for (i = 0; i < ARRAY_SIZE (cap_names); i++)
    if (strcasecmp (name, cap_names[i]) == 0)
      {
        *bits = CAPBIT (i);
        return true;
      }
  return false;
}

static const char *
cap_name (int cap)
{
  static char unknown[16];

  if (cap >= 0 && (size_t) cap < ARRAY_SIZE (cap_names))
    return cap_names[cap];
  snprintf (unknown, sizeof unknown, "%d", cap);
  return unknown;
}

/* The highest capability this kernel knows. */
static int
cap_last (void)
{
  int cap = 0;

  while (prctl (PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
    cap++;
  return cap;
}

static int
caps_get (uint64_t *permitted, stack_error_t **err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];

  memset (data, 0, sizeof data);
  if (syscall (SYS_capget, &hdr, data) < 0)
    return stack_error_make (err, errno, "capget");
  *permitted = (uint64_t) data[0].permitted | ((uint64_t) data[1].permitted << 32);
  return 0;
}

/* capset(2) directly: no libcap. */
static int
caps_set (uint64_t effective, uint64_t permitted, uint64_t inheritable, stack_error_t **err)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  int i;

  for (i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (effective >> (32 * i));
      data[i].permitted = (uint32_t) (permitted >> (32 * i));
      data[i].inheritable = (uint32_t) (inheritable >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return stack_error_make (err, errno, "capset");
  return 0;
}

int
rt_security_prepare (const container_spec_t *spec, stack_error_t **err)
{
  (void) spec;
  /* Without this, setuid to a non-root user empties the permitted set, and
     the bounding set can no longer be cut (PR_CAPBSET_DROP needs
     CAP_SETPCAP) nor the filter loaded (CAP_SYS_ADMIN). */
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return stack_error_make (err, errno, "keep capabilities across the user switch");
  return 0;
}

int
rt_security_apply (const container_spec_t *spec, stack_error_t **err)
{
  uint64_t have = 0, want, known;
  int last, cap, ret;

  last = cap_last ();
  known = last >= 63 ? ~0ULL : CAPBIT (last + 1) - 1;

  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return stack_error_make (err, errno, "clear keep-capabilities");
  ret = caps_get (&have, err);
  if (ret < 0)
    return ret;

  /* Capabilities this kernel does not know are dropped silently, as runc
     does: a Compose file may name CAP_CHECKPOINT_RESTORE on an older host.
     Privileged means all we hold; anything else we cannot hand out. */
  want = spec->privileged ? have : spec->caps & known;
  if ((want & ~have) != 0)
    {
      if (getuid () != 0 && (have & CAPBIT (CAP_SETPCAP)) == 0)
        return stack_error_make (err, 0, "capabilities were lost at the user switch: "
                                         "rt_security_prepare must run before setuid");
      for (cap = 0; (want & ~have & CAPBIT (cap)) == 0; cap++)
        ;
      return stack_error_make (err, 0, "capability `CAP_%s` is not held by stack itself",
                               cap_name (cap));
    }

  /* Raise what the permitted set still allows: setuid cleared the
     effective set even with keep-caps. */
  ret = caps_set (have, have, 0, err);
  if (ret < 0)
    return ret;

  for (cap = 0; cap <= last; cap++)
    {
      if ((want & CAPBIT (cap)) != 0 || prctl (PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
        continue;
      if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        {
          if (errno == EPERM && getuid () != 0)
            return stack_error_make (err, 0, "capabilities were lost at the user switch: "
                                             "rt_security_prepare must run before setuid");
          return stack_error_make (err, errno, "drop `CAP_%s` from the bounding set",
                                   cap_name (cap));
        }
    }

  /* Ambient capabilities survive execve for non-root users; none of ours
     do (EINVAL: a kernel before 4.3, which has none). */
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return stack_error_make (err, errno, "clear the ambient capabilities");

  if (spec->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return stack_error_make (err, errno, "set no_new_privs");

  /* While CAP_SYS_ADMIN is still effective: loading a filter without it
     needs no_new_privs, which the spec may not want. */
  if (!spec->privileged && !spec->seccomp_unconfined)
    {
      ret = rt_seccomp_load_default (want, err);
      if (ret < 0)
        return ret;
    }

  /* Docker's user-visible result: root keeps the set in permitted and
     effective; any other user starts with none and gets them only through
     file capabilities, within the bounding set (moby's "drop capabilities
     in the way execve does"). Inheritable stays empty (CVE-2022-24769). */
  if (getuid () == 0)
    ret = caps_set (want, want, 0, err);
  else
    ret = caps_set (0, 0, 0, err);
  if (ret < 0)
    return stack_error_wrap (err, "set the container's capabilities");
  return 0;
}

/* ------------------------------------------------------------------ */
/* sysctls                                                             */
/* ------------------------------------------------------------------ */

static const char *const ipc_sysctls[] = {
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

static const char *const not_namespaced = "not namespaced: it would change the whole host";
static const char *const bad_name = "not a valid sysctl name";

static bool
is_ipc_sysctl (const char *key)
{
  size_t i;

  if (str_has_prefix (key, "fs.mqueue.") && key[strlen ("fs.mqueue.")] != '\0')
    return true;
  for (i = 0; i < ARRAY_SIZE (ipc_sysctls); i++)
    if (strcmp (key, ipc_sysctls[i]) == 0)
      return true;
  return false;
}

static bool
is_net_sysctl (const char *key)
{
  return str_has_prefix (key, "net.") && key[strlen ("net.")] != '\0';
}

/* The path below /proc/sys, as sysctl(8) spells it: dots separate, and a
   slash stands for a dot inside one component ("net.ipv4.conf.eth0/100.rp_filter"
   for the VLAN interface eth0.100). NULL when a component is empty, "."
   or ".." — nothing may climb out of /proc/sys. */
static char *
sysctl_path (const char *key)
{
  cleanup_free char *path = xstrdup (key);
  char *p, *start;

  for (p = path; *p; p++)
    if (*p == '.')
      *p = '/';
    else if (*p == '/')
      *p = '.';
  for (start = path;; start = p + 1)
    {
      size_t n;

      p = strchrnul (start, '/');
      n = (size_t) (p - start);
      if (n == 0 || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
        return NULL;
      if (*p == '\0')
        break;
    }
  for (p = path; *p; p++)
    if ((unsigned char) *p <= ' ')
      return NULL;
  return steal_pointer (&path);
}

bool
rt_sysctl_allowed (const char *key, const char **why)
{
  cleanup_free char *path = NULL;

  *why = NULL;
  path = sysctl_path (key);
  if (path == NULL)
    {
      *why = bad_name;
      return false;
    }
  if (is_ipc_sysctl (key) || is_net_sysctl (key))
    return true;
  if (strcmp (key, "kernel.hostname") == 0 || strcmp (key, "kernel.domainname") == 0)
    *why = "set with the `hostname` and `domainname` options, not as a sysctl";
  else
    *why = not_namespaced;
  return false;
}

/* Split "key=value"; *key is malloc'ed. */
static int
sysctl_split (const char *kv, char **key, const char **value, stack_error_t **err)
{
  const char *eq = strchr (kv, '=');

  if (eq == NULL)
    return stack_error_make (err, 0, "sysctl `%s`: expected KEY=VALUE", kv);
  *key = xstrndup (kv, (size_t) (eq - kv));
  *value = eq + 1;
  return 0;
}

int
rt_sysctls_check (const container_spec_t *spec, stack_error_t **err)
{
  const char *const *s;

  for (s = spec->sysctls; s != NULL && *s != NULL; s++)
    {
      cleanup_free char *key = NULL;
      const char *value = NULL, *why;
      int ret;

      ret = sysctl_split (*s, &key, &value, err);
      if (ret < 0)
        return ret;
      if (!rt_sysctl_allowed (key, &why))
        return stack_error_make (err, 0, "sysctl `%s` is %s", key, why);
      if (spec->host_net && is_net_sysctl (key))
        return stack_error_make (err, 0,
                                 "sysctl `%s` is not namespaced with host networking: it would "
                                 "change the host's network stack",
                                 key);
      if (spec->host_ipc && is_ipc_sysctl (key))
        return stack_error_make (err, 0,
                                 "sysctl `%s` is not namespaced with the host's IPC namespace: "
                                 "it would change the host's IPC limits",
                                 key);
    }
  return 0;
}

static int
sysctl_write (int procsys, const char *key, const char *value, stack_error_t **err)
{
  struct open_how how = {
    .flags = O_WRONLY | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  const char *why;
  size_t len = strlen (value);
  ssize_t n;

  /* again here: whoever calls us, nothing outside the list gets written */
  if (!rt_sysctl_allowed (key, &why))
    return stack_error_make (err, 0, "sysctl `%s` is %s", key, why);
  path = sysctl_path (key);
  fd = (int) syscall (SYS_openat2, procsys, path, &how, sizeof how);
  if (fd < 0)
    return stack_error_make (err, errno, "sysctl `%s`: open `/proc/sys/%s`", key, path);
  n = write (fd, value, len);
  if (n < 0)
    return stack_error_make (err, errno, "sysctl `%s`: write `%s`", key, value);
  if ((size_t) n != len)
    return stack_error_make (err, EIO, "sysctl `%s`: short write of `%s`", key, value);
  return 0;
}

int
rt_sysctls_apply (const char *const *sysctls, stack_error_t **err)
{
  cleanup_close int procsys = -1;
  const char *const *s;
  struct statfs sfs;

  if (sysctls == NULL || sysctls[0] == NULL)
    return 0;
  procsys = open ("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (procsys < 0)
    return stack_error_make (err, errno, "open `/proc/sys`");
  /* Writes must land in procfs and nowhere else: an image can ship a
     /proc of its own (the CVE-2019-16884 / CVE-2019-19921 family). */
  if (fstatfs (procsys, &sfs) < 0)
    return stack_error_make (err, errno, "statfs `/proc/sys`");
  if (sfs.f_type != PROC_SUPER_MAGIC)
    return stack_error_make (err, 0, "`/proc/sys` is not on procfs");

  for (s = sysctls; *s != NULL; s++)
    {
      cleanup_free char *key = NULL;
      const char *value = NULL;
      int ret;

      ret = sysctl_split (*s, &key, &value, err);
      if (ret < 0)
        return ret;
      ret = sysctl_write (procsys, key, value, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

/* seccomp.c — the default syscall filter, built with libseccomp.

   Docker's default profile (moby/moby profiles/seccomp/default.json) is an
   allowlist: ~370 syscalls allowed, everything else ERRNO(EPERM). We load
   the same policy written the other way round: allow by default, deny what
   Docker does not allow. The user-visible result is the same for every
   syscall Docker's list knows; the difference is for syscalls newer than
   the list (fchmodat2, map_shadow_stack, mseal, ...): Docker answers EPERM,
   which breaks libcs that expect ENOSYS to fall back, and we let them
   through. The dangerous ones among those are guarded by capabilities in
   the kernel anyway. docs/security.md has the list and the reasoning. */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "security-internal.h"

#define NO_CAP (-1)
#define CAPBIT(c) (1ULL << (c))

/* A syscall the container may not make unless it holds cap or cap2. */
typedef struct deny_rule
{
  const char *name;
  int cap, cap2;
} deny_rule_t;

static const deny_rule_t deny_rules[] = {
  /* Never, whatever the capabilities: not namespaced, or only useful to
     attack the kernel. */
  { "add_key", NO_CAP, NO_CAP }, /* the kernel keyrings are not namespaced */
  { "keyctl", NO_CAP, NO_CAP },
  { "request_key", NO_CAP, NO_CAP },
  { "kexec_load", NO_CAP, NO_CAP },
  { "kexec_file_load", NO_CAP, NO_CAP },
  { "create_module", NO_CAP, NO_CAP },
  { "get_kernel_syms", NO_CAP, NO_CAP },
  { "query_module", NO_CAP, NO_CAP },
  { "nfsservctl", NO_CAP, NO_CAP },
  { "uselib", NO_CAP, NO_CAP },
  { "ustat", NO_CAP, NO_CAP },
  { "sysfs", NO_CAP, NO_CAP },
  { "_sysctl", NO_CAP, NO_CAP },
  { "userfaultfd", NO_CAP, NO_CAP }, /* stalls the kernel mid-copy: the tool of many exploits */
  { "move_pages", NO_CAP, NO_CAP },
  { "migrate_pages", NO_CAP, NO_CAP },
  { "swapon", NO_CAP, NO_CAP },
  { "swapoff", NO_CAP, NO_CAP },
  { "vm86", NO_CAP, NO_CAP },
  { "vm86old", NO_CAP, NO_CAP },
  { "pivot_root", NO_CAP, NO_CAP }, /* Docker refuses it even with CAP_SYS_ADMIN */
  /* io_uring runs operations seccomp never sees, and has been the way out
     of containers several times (moby#46762, Docker 25). */
  { "io_uring_setup", NO_CAP, NO_CAP },
  { "io_uring_enter", NO_CAP, NO_CAP },
  { "io_uring_register", NO_CAP, NO_CAP },

  /* CAP_SYS_ADMIN: mounts, namespaces, the host's name and log */
  { "mount", CAP_SYS_ADMIN, NO_CAP },
  { "umount", CAP_SYS_ADMIN, NO_CAP },
  { "umount2", CAP_SYS_ADMIN, NO_CAP },
  { "mount_setattr", CAP_SYS_ADMIN, NO_CAP },
  { "move_mount", CAP_SYS_ADMIN, NO_CAP },
  { "open_tree", CAP_SYS_ADMIN, NO_CAP },
  { "fsopen", CAP_SYS_ADMIN, NO_CAP },
  { "fsconfig", CAP_SYS_ADMIN, NO_CAP },
  { "fsmount", CAP_SYS_ADMIN, NO_CAP },
  { "fspick", CAP_SYS_ADMIN, NO_CAP },
  /* unshare(CLONE_NEWUSER) needs no capability at all: without this rule
     every container could reach the kernel code only root may use */
  { "unshare", CAP_SYS_ADMIN, NO_CAP },
  { "setns", CAP_SYS_ADMIN, NO_CAP },
  { "sethostname", CAP_SYS_ADMIN, NO_CAP },
  { "setdomainname", CAP_SYS_ADMIN, NO_CAP },
  { "quotactl", CAP_SYS_ADMIN, NO_CAP },
  { "quotactl_fd", CAP_SYS_ADMIN, NO_CAP },
  { "fanotify_init", CAP_SYS_ADMIN, NO_CAP },
  { "lookup_dcookie", CAP_SYS_ADMIN, NO_CAP },
  { "bpf", CAP_SYS_ADMIN, CAP_BPF },
  { "perf_event_open", CAP_SYS_ADMIN, CAP_PERFMON },
  { "syslog", CAP_SYS_ADMIN, CAP_SYSLOG },

  /* one capability each */
  { "reboot", CAP_SYS_BOOT, NO_CAP },
  { "chroot", CAP_SYS_CHROOT, NO_CAP },
  { "init_module", CAP_SYS_MODULE, NO_CAP },
  { "finit_module", CAP_SYS_MODULE, NO_CAP },
  { "delete_module", CAP_SYS_MODULE, NO_CAP },
  { "acct", CAP_SYS_PACCT, NO_CAP },
  { "kcmp", CAP_SYS_PTRACE, NO_CAP },
  { "pidfd_getfd", CAP_SYS_PTRACE, NO_CAP },
  { "process_madvise", CAP_SYS_PTRACE, NO_CAP },
  { "iopl", CAP_SYS_RAWIO, NO_CAP },
  { "ioperm", CAP_SYS_RAWIO, NO_CAP },
  { "settimeofday", CAP_SYS_TIME, NO_CAP },
  { "stime", CAP_SYS_TIME, NO_CAP },
  { "clock_settime", CAP_SYS_TIME, NO_CAP },
  { "clock_settime64", CAP_SYS_TIME, NO_CAP },
  { "vhangup", CAP_SYS_TTY_CONFIG, NO_CAP },
  { "get_mempolicy", CAP_SYS_NICE, NO_CAP },
  { "set_mempolicy", CAP_SYS_NICE, NO_CAP },
  { "set_mempolicy_home_node", CAP_SYS_NICE, NO_CAP },
  { "mbind", CAP_SYS_NICE, NO_CAP },
  { "open_by_handle_at", CAP_DAC_READ_SEARCH, NO_CAP }, /* "shocker": read any host file */
};

/* Before 4.8 a tracer could rewrite a syscall after seccomp had checked it,
   so Docker allows ptrace only with CAP_SYS_PTRACE there, and to everyone
   from 4.8 on (strace and gdb work in containers). */
static const char *const ptrace_calls[] = { "ptrace", "process_vm_readv", "process_vm_writev" };

/* The namespace flags clone() may not carry without CAP_SYS_ADMIN. */
static const uint64_t clone_ns_flags[] = {
  CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static bool
has_cap (uint64_t caps, int cap)
{
  return cap != NO_CAP && (caps & CAPBIT (cap)) != 0;
}

static bool
kernel_at_least (int major, int minor)
{
  struct utsname u;
  int ma = 0, mi = 0;

  if (uname (&u) < 0 || sscanf (u.release, "%d.%d", &ma, &mi) != 2)
    return false;
  return ma > major || (ma == major && mi >= minor);
}

/* Deny `name` with errno `e` when the comparisons hold. Names libseccomp
   does not know (newer than its tables) are skipped: nothing to deny. */
static int
deny (scmp_filter_ctx ctx, const char *name, int e, unsigned n_cmp, const struct scmp_arg_cmp *cmp,
      stack_error_t **err)
{
  int nr, ret;

  nr = seccomp_syscall_resolve_name (name);
  if (nr == __NR_SCMP_ERROR)
    return 0;
  ret = seccomp_rule_add_array (ctx, SCMP_ACT_ERRNO (e), nr, n_cmp, cmp);
  if (ret < 0)
    return stack_error_make (err, -ret, "seccomp rule for `%s`", name);
  return 0;
}

/* personality(2) only with the values Docker allows: PER_LINUX, PER_LINUX32,
   UNAME26 and their mix, and 0xffffffff (query). The others switch off ASLR
   (ADDR_NO_RANDOMIZE) or make data executable (READ_IMPLIES_EXEC).

   libseccomp compares each argument once per rule and ORs rules, so "not
   one of these" is spelt as a union of single masked comparisons. The
   kernel reads the argument as an unsigned int; we look at the low 32 bits
   only. Let A be the three bits the allowed values may have (0x20008) and
   O every other bit. A value is allowed when no bit of O is set (it is
   then 0, 8, 0x20000 or 0x20008) or it is 0xffffffff. It is denied when
   the O bits are mixed, some set and some clear: then two O bits that are
   neighbours in bit order differ, which one rule per neighbour pair and
   direction catches; and when all O bits are set but it is not
   0xffffffff: three exact values. */
static int
deny_personality (scmp_filter_ctx ctx, stack_error_t **err)
{
  const uint32_t allowed_bits = PER_LINUX32 | UNAME26;
  const uint32_t other = ~allowed_bits;
  const uint32_t all_other_set[] = { other, other | PER_LINUX32, other | UNAME26 };
  struct scmp_arg_cmp cmp;
  int prev = -1, bit, ret;
  size_t i;

  for (bit = 0; bit < 32; bit++)
    {
      uint32_t a, b;

      if ((other & (1U << bit)) == 0)
        continue;
      if (prev >= 0)
        {
          a = 1U << prev;
          b = 1U << bit;
          cmp = SCMP_A0 (SCMP_CMP_MASKED_EQ, a | b, a);
          ret = deny (ctx, "personality", EPERM, 1, &cmp, err);
          if (ret < 0)
            return ret;
          cmp = SCMP_A0 (SCMP_CMP_MASKED_EQ, a | b, b);
          ret = deny (ctx, "personality", EPERM, 1, &cmp, err);
          if (ret < 0)
            return ret;
        }
      prev = bit;
    }
  for (i = 0; i < ARRAY_SIZE (all_other_set); i++)
    {
      cmp = SCMP_A0 (SCMP_CMP_MASKED_EQ, 0xffffffffU, all_other_set[i]);
      ret = deny (ctx, "personality", EPERM, 1, &cmp, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int
deny_clone (scmp_filter_ctx ctx, uint64_t caps, stack_error_t **err)
{
  struct scmp_arg_cmp cmp;
  size_t i;
  int ret;

  if (has_cap (caps, CAP_SYS_ADMIN))
    return 0;
  for (i = 0; i < ARRAY_SIZE (clone_ns_flags); i++)
    {
#if defined(__s390__) || defined(__s390x__)
      /* s390 swaps the first two arguments */
      cmp = SCMP_A1 (SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
#else
      cmp = SCMP_A0 (SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
#endif
      ret = deny (ctx, "clone", EPERM, 1, &cmp, err);
      if (ret < 0)
        return ret;
    }
  /* clone3 passes its flags in memory, where seccomp cannot look. ENOSYS,
     not EPERM: glibc and musl then fall back to clone, which we can check;
     EPERM would make pthread_create fail. */
  return deny (ctx, "clone3", ENOSYS, 0, NULL, err);
}

/* The architectures whose syscalls this process can make: a 64-bit
   process can enter the kernel through the 32-bit tables too (int 0x80,
   the x32 bit), which a filter for the native table alone would not see. */
static int
add_arches (scmp_filter_ctx ctx, stack_error_t **err)
{
  uint32_t compat[2] = { 0, 0 };
  size_t i;
  int ret;

  switch (seccomp_arch_native ())
    {
    case SCMP_ARCH_X86_64:
      compat[0] = SCMP_ARCH_X86;
      compat[1] = SCMP_ARCH_X32;
      break;
    case SCMP_ARCH_AARCH64:
      compat[0] = SCMP_ARCH_ARM;
      break;
    case SCMP_ARCH_S390X:
      compat[0] = SCMP_ARCH_S390;
      break;
    default:
      break;
    }
  for (i = 0; i < ARRAY_SIZE (compat) && compat[i] != 0; i++)
    {
      ret = seccomp_arch_add (ctx, compat[i]);
      if (ret < 0 && ret != -EEXIST)
        return stack_error_make (err, -ret, "seccomp: add architecture %#x", compat[i]);
    }
  return 0;
}

static int
build (scmp_filter_ctx ctx, uint64_t caps, stack_error_t **err)
{
  struct scmp_arg_cmp cmp;
  size_t i;
  int ret;

  ret = add_arches (ctx, err);
  if (ret < 0)
    return ret;
  for (i = 0; i < ARRAY_SIZE (deny_rules); i++)
    {
      const deny_rule_t *r = &deny_rules[i];

      if (has_cap (caps, r->cap) || has_cap (caps, r->cap2))
        continue;
      ret = deny (ctx, r->name, EPERM, 0, NULL, err);
      if (ret < 0)
        return ret;
    }
  if (!has_cap (caps, CAP_SYS_PTRACE) && !kernel_at_least (4, 8))
    for (i = 0; i < ARRAY_SIZE (ptrace_calls); i++)
      {
        ret = deny (ctx, ptrace_calls[i], EPERM, 0, NULL, err);
        if (ret < 0)
          return ret;
      }
  ret = deny_clone (ctx, caps, err);
  if (ret < 0)
    return ret;
  ret = deny_personality (ctx, err);
  if (ret < 0)
    return ret;
  /* vsock talks to the hypervisor, around the container's network */
  cmp = SCMP_A0 (SCMP_CMP_EQ, AF_VSOCK);
  return deny (ctx, "socket", EPERM, 1, &cmp, err);
}

int
rt_seccomp_load_default (uint64_t caps, stack_error_t **err)
{
  scmp_filter_ctx ctx;
  int ret;

  ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return stack_error_make (err, ENOMEM, "seccomp: create filter");
  /* libseccomp sets no_new_privs by default; whether the container gets it
     is the spec's no_new_privileges, so load with CAP_SYS_ADMIN instead. */
  ret = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (ret < 0)
    {
      stack_error_make (err, -ret, "seccomp: clear the no_new_privs attribute");
      goto out;
    }
  ret = build (ctx, caps, err);
  if (ret < 0)
    goto out;
  ret = seccomp_load (ctx);
  if (ret < 0)
    stack_error_make (err, -ret, "load the seccomp filter");
out:
  seccomp_release (ctx);
  return ret < 0 ? -1 : 0;
}

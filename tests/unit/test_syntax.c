/* test_syntax.c — the short-syntax parsers on their own: Go durations,
   byte sizes, ports, volumes and shell words, with the exact long forms
   `docker compose config` prints and the exact words of each error. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

/* Every node made here claims to sit at stack.yml:3:7. */
static const source_t src = { "stack.yml", "/proj" };
#define PREFIX "stack: stack.yml:3:7: services.web.x[0]: "
#define PATH "services.web.x[0]"

typedef struct fx
{
  compose_diags_t diags;
  ld_t ld;
} fx_t;

static void
fx_init (fx_t *f)
{
  memset (f, 0, sizeof *f);
  compose_diags_init (&f->diags);
  f->ld.arena = arena_new ();
  f->ld.diags = &f->diags;
  f->ld.project_dir = "/proj";
  env_set (f->ld.arena, &f->ld.env, "HOME", "/home/me");
}

static void
fx_free (fx_t *f)
{
  arena_free (f->ld.arena);
  compose_diags_free (&f->diags);
}

static node_t *
scalar (fx_t *f, enum node_kind kind, const char *text)
{
  node_t *n = node_new (f->ld.arena, kind, (mark_t){ &src, 3, 7 });
  n->str = text ? arena_strdup (f->ld.arena, text) : NULL;
  return n;
}

/* Diagnostics as `stack` prints them (malloc'ed). */
static char *
diags_text (fx_t *f)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&buf, &len);
  compose_diags_print (&f->diags, mem);
  fclose (mem);
  return buf;
}

static void
assert_json (const node_t *n, const char *expected)
{
  char *json;
  assert_non_null (n);
  json = node_to_json_text (n);
  assert_string_equal (json, expected);
  free (json);
}

static void
assert_diags (fx_t *f, const char *expected)
{
  char *out = diags_text (f);
  assert_string_equal (out, expected);
  free (out);
}

/* ---- durations ---- */

static void
ok_duration (const char *s, int64_t expected)
{
  int64_t ns = 12345;
  if (!duration_parse (s, &ns))
    fail_msg ("duration_parse (\"%s\") failed", s);
  if (ns != expected)
    fail_msg ("duration_parse (\"%s\") = %lld, want %lld", s, (long long)ns, (long long)expected);
}

static void
bad_duration (const char *s)
{
  int64_t ns = 12345;
  if (duration_parse (s, &ns))
    fail_msg ("duration_parse (\"%s\") accepted: %lld", s, (long long)ns);
  assert_int_equal (ns, 12345);
}

#define S 1000000000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)

/* Cases from Go's time package tests. */
static void
test_duration_parse (void **state)
{
  (void)state;
  ok_duration ("0", 0);
  ok_duration ("-0", 0);
  ok_duration ("+0", 0);
  ok_duration ("5s", 5 * S);
  ok_duration ("30s", 30 * S);
  ok_duration ("1478s", 1478 * S);
  ok_duration ("-5s", -5 * S);
  ok_duration ("+5s", 5 * S);
  ok_duration ("-0s", 0);
  ok_duration ("5.0s", 5 * S);
  ok_duration ("5.6s", 5 * S + 600000000);
  ok_duration ("5.s", 5 * S);
  ok_duration (".5s", 500000000);
  ok_duration ("1.004s", S + 4000000);
  ok_duration ("100.00100s", 100 * S + 1000000);
  ok_duration ("10ns", 10);
  ok_duration ("11us", 11000);
  ok_duration ("12\xc2\xb5s", 12000); /* µ, micro sign */
  ok_duration ("12\xce\xbcs", 12000); /* μ, greek mu */
  ok_duration ("13ms", 13000000);
  ok_duration ("15m", 15 * MIN);
  ok_duration ("16h", 16 * HOUR);
  ok_duration ("3h30m", 3 * HOUR + 30 * MIN);
  ok_duration ("10.5s4m", 4 * MIN + 10 * S + 500000000);
  ok_duration ("-2m3.4s", -(2 * MIN + 3 * S + 400000000));
  ok_duration ("1h2m3s4ms5us6ns", HOUR + 2 * MIN + 3 * S + 4000000 + 5000 + 6);
  ok_duration ("39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * S + 425000000);
  ok_duration ("1.5h", HOUR + 30 * MIN);
  ok_duration ("1m30s", 90 * S);
  ok_duration ("0.3333333333333333333h", 20 * MIN);
  ok_duration ("9007199254740993ns", (1LL << 53) + 1);
  ok_duration ("9223372036854775807ns", INT64_MAX);
  ok_duration ("9223372036854775.807us", INT64_MAX);
  ok_duration ("9223372036s854ms775us807ns", INT64_MAX);
  ok_duration ("9223372036854ms775us807ns", INT64_MAX);
  ok_duration ("-9223372036854775808ns", INT64_MIN);
  ok_duration ("-9223372036854775.808us", INT64_MIN);
  ok_duration ("0.100000000000000000000h", 6 * MIN);
  ok_duration ("0.830103483285477580700h", 49 * MIN + 48 * S + 372539827);
}

static void
test_duration_parse_invalid (void **state)
{
  (void)state;
  bad_duration ("");
  bad_duration ("3");  /* no unit */
  bad_duration ("10"); /* only "0" goes without a unit */
  bad_duration ("-");
  bad_duration ("s");
  bad_duration (".");
  bad_duration ("-.");
  bad_duration (".s");
  bad_duration ("+.s");
  bad_duration ("1d");
  bad_duration ("1S");
  bad_duration ("1h 2m");
  bad_duration (" 1s");
  bad_duration ("1s ");
  bad_duration ("\x85\x85");
  bad_duration ("1h-2m");
  bad_duration ("9223372036854775808ns");
  bad_duration ("9223372036854775810ns");
  bad_duration ("-9223372036854775809ns");
  bad_duration ("9223372036854775.808us");
  bad_duration ("9223372036854ms775us808ns");
  bad_duration ("3000000h");
}

static void
fmt_is (arena_t *a, int64_t ns, const char *expected)
{
  assert_string_equal (duration_format (a, ns), expected);
}

/* Go's Duration.String(). */
static void
test_duration_format (void **state)
{
  arena_t *a = arena_new ();
  (void)state;
  fmt_is (a, 0, "0s");
  fmt_is (a, 1, "1ns");
  fmt_is (a, 1100, "1.1\xc2\xb5s");
  fmt_is (a, 1500, "1.5\xc2\xb5s");
  fmt_is (a, 2200000, "2.2ms");
  fmt_is (a, 100000000, "100ms");
  fmt_is (a, 3300000000, "3.3s");
  fmt_is (a, 2500000000, "2.5s");
  fmt_is (a, 90 * S, "1m30s");
  fmt_is (a, 4 * MIN + 5 * S, "4m5s");
  fmt_is (a, 4 * MIN + 5001 * 1000000LL, "4m5.001s");
  fmt_is (a, 5 * HOUR + 6 * MIN + 7001 * 1000000LL, "5h6m7.001s");
  fmt_is (a, 8 * MIN + 1, "8m0.000000001s");
  fmt_is (a, HOUR, "1h0m0s");
  fmt_is (a, 30 * S, "30s");
  fmt_is (a, -90 * S, "-1m30s");
  fmt_is (a, -1, "-1ns");
  fmt_is (a, INT64_MAX, "2562047h47m16.854775807s");
  fmt_is (a, INT64_MIN, "-2562047h47m16.854775808s");
  arena_free (a);
}

/* ---- byte sizes ---- */

static void
ok_bytes (const char *s, int64_t expected)
{
  int64_t b = 12345;
  if (!bytes_parse (s, &b))
    fail_msg ("bytes_parse (\"%s\") failed", s);
  if (b != expected)
    fail_msg ("bytes_parse (\"%s\") = %lld, want %lld", s, (long long)b, (long long)expected);
}

static void
bad_bytes (const char *s)
{
  int64_t b = 12345;
  if (bytes_parse (s, &b))
    fail_msg ("bytes_parse (\"%s\") accepted: %lld", s, (long long)b);
  assert_int_equal (b, 12345);
}

#define KIB 1024LL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define TIB (1024 * GIB)
#define PIB (1024 * TIB)

/* Cases from go-units' TestRAMInBytes (v0.5.0, the version compose-go
   pins), and a few more. */
static void
test_bytes_parse (void **state)
{
  (void)state;
  ok_bytes ("32", 32);
  ok_bytes ("32b", 32);
  ok_bytes ("32B", 32);
  ok_bytes ("32k", 32 * KIB);
  ok_bytes ("32K", 32 * KIB);
  ok_bytes ("32kb", 32 * KIB);
  ok_bytes ("32Kb", 32 * KIB);
  ok_bytes ("32Kib", 32 * KIB);
  ok_bytes ("32KIB", 32 * KIB);
  ok_bytes ("32Mb", 32 * MIB);
  ok_bytes ("32Gb", 32 * GIB);
  ok_bytes ("32Tb", 32 * TIB);
  ok_bytes ("32Pb", 32 * PIB);
  ok_bytes ("32PB", 32 * PIB);
  ok_bytes ("32P", 32 * PIB);
  ok_bytes ("32.3", 32);
  ok_bytes ("32.3 mb", 33869004); /* int64 (32.3 * MiB) */
  ok_bytes ("0.3MB", 314572);
  ok_bytes ("512m", 512 * MIB);
  ok_bytes ("1g", GIB);
  ok_bytes ("1.5g", GIB + 512 * MIB);
  ok_bytes ("1.5GB", GIB + 512 * MIB);
  ok_bytes ("100k", 100 * KIB);
  ok_bytes ("1024", 1024);
  ok_bytes ("0", 0);
  ok_bytes ("-0", 0);
  ok_bytes ("32 ", 32); /* one space before the suffix, which may be empty */
  ok_bytes ("32 kib", 32 * KIB);
  /* the number is whatever Go's ParseFloat takes */
  ok_bytes ("+32", 32);
  ok_bytes (".5g", 512 * MIB);
  ok_bytes ("1.g", GIB);
  ok_bytes ("1e3", 1000);
  ok_bytes ("1E3k", 1000 * KIB);
  ok_bytes ("0x1p4k", 16 * KIB);
  ok_bytes ("8191p", 8191 * PIB);
}

static void
test_bytes_parse_invalid (void **state)
{
  (void)state;
  bad_bytes ("");
  bad_bytes ("hello");
  bad_bytes ("k");
  bad_bytes ("-32");
  bad_bytes ("-1k");
  bad_bytes (" 32 ");
  bad_bytes (" 32");
  bad_bytes ("3 2");
  bad_bytes ("32  b");
  bad_bytes ("32m b");
  bad_bytes ("32bm");
  bad_bytes ("32bb");
  bad_bytes ("32kbb");
  bad_bytes ("32kibb");
  bad_bytes ("32ki");
  bad_bytes ("32i");
  bad_bytes ("32x");
  bad_bytes ("32e");
  bad_bytes ("1.2.3");
  bad_bytes ("..5");
  bad_bytes ("0x10"); /* a hex float needs its p exponent */
  bad_bytes ("1_000");
  bad_bytes ("inf b");
  bad_bytes ("nan b");
  bad_bytes ("1e400");
  bad_bytes ("8192p");                /* 2^63: does not fit */
  bad_bytes ("99999999999999999999"); /* neither */
}

/* ---- ports ---- */

static void
ok_port_node (node_t *n, fx_t *f, const char *json)
{
  node_t *out = node_new (f->ld.arena, N_SEQ, n->mark);
  if (!port_parse_short (&f->ld, n, PATH, out))
    {
      char *d = diags_text (f);
      fail_msg ("port \"%s\" rejected: %s", node_text (f->ld.arena, n), d);
    }
  assert_json (out, json);
  assert_int_equal (f->diags.len, 0);
}

static void
ok_port (const char *text, const char *json)
{
  fx_t f;
  fx_init (&f);
  ok_port_node (scalar (&f, N_SCALAR, text), &f, json);
  fx_free (&f);
}

static void
bad_port_node (fx_t *f, node_t *n, const char *msg)
{
  node_t *out = node_new (f->ld.arena, N_SEQ, n->mark);
  assert_false (port_parse_short (&f->ld, n, PATH, out));
  assert_int_equal (out->len, 0);
  assert_diags (f, msg);
}

static void
bad_port (const char *text, const char *msg)
{
  fx_t f;
  fx_init (&f);
  bad_port_node (&f, scalar (&f, N_SCALAR, text), msg);
  fx_free (&f);
}

static void
test_port_forms (void **state)
{
  fx_t f;
  node_t *n;
  (void)state;

  fx_init (&f);
  n = node_new_int (f.ld.arena, 80, (mark_t){ &src, 3, 7 });
  ok_port_node (n, &f, "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":80}]");
  fx_free (&f);

  ok_port ("80", "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":80}]");
  ok_port ("8080:80",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8080\",\"target\":80}]");
  ok_port ("127.0.0.1:8080:80", "[{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":"
                                "\"tcp\",\"published\":\"8080\",\"target\":80}]");
  ok_port ("127.0.0.1::80", "[{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"tcp\","
                            "\"target\":80}]");
  ok_port ("[::1]:8080:80", "[{\"host_ip\":\"::1\",\"mode\":\"ingress\",\"protocol\":\"tcp\","
                            "\"published\":\"8080\",\"target\":80}]");
  ok_port ("::1:8080:80", "[{\"host_ip\":\"::1\",\"mode\":\"ingress\",\"protocol\":\"tcp\","
                          "\"published\":\"8080\",\"target\":80}]");
  ok_port ("[::]::53/udp", "[{\"host_ip\":\"::\",\"mode\":\"ingress\",\"protocol\":\"udp\","
                           "\"target\":53}]");
  ok_port ("6060:6060/udp",
           "[{\"mode\":\"ingress\",\"protocol\":\"udp\",\"published\":\"6060\",\"target\":6060}]");
  ok_port ("80/SCTP", "[{\"mode\":\"ingress\",\"protocol\":\"sctp\",\"target\":80}]");
  ok_port ("80/", "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":80}]");
  /* host port 0: any free port, as in Docker */
  ok_port ("0:80",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"0\",\"target\":80}]");
  ok_port ("080:80",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"80\",\"target\":80}]");
  ok_port ("65535:1", "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"65535\","
                      "\"target\":1}]");

  fx_init (&f);
  n = scalar (&f, N_STR, "8080:80");
  ok_port_node (
      n, &f, "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8080\",\"target\":80}]");
  fx_free (&f);
}

static void
test_port_ranges (void **state)
{
  (void)state;
  ok_port ("8000-8001:80-81",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8000\",\"target\":80},"
           "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8001\",\"target\":81}]");
  ok_port ("8000-8010:80",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8000-8010\","
           "\"target\":80}]");
  ok_port ("8000-8000:80",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"8000\",\"target\":80}]");
  ok_port ("80-81", "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":80},"
                    "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":81}]");
  ok_port ("80-80", "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"target\":80}]");
  ok_port ("127.0.0.1:5000-5001:6000-6001/udp",
           "[{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"udp\",\"published\":"
           "\"5000\",\"target\":6000},{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":"
           "\"udp\",\"published\":\"5001\",\"target\":6001}]");
  /* compose-go sorts a range by "PORT/PROTO" text: 10 before 9 */
  ok_port ("109-110:9-10",
           "[{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"110\",\"target\":10},"
           "{\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":\"109\",\"target\":9}]");
}

static void
test_port_errors (void **state)
{
  fx_t f;
  (void)state;

  bad_port ("80800:80", PREFIX "\"80800:80\": host port must be 1-65535\n");
  bad_port ("8080:0", PREFIX "\"8080:0\": container port must be 1-65535\n");
  bad_port ("0", PREFIX "\"0\": container port must be 1-65535\n");
  bad_port ("8080:70000", PREFIX "\"8080:70000\": container port must be 1-65535\n");
  bad_port ("99999999999999999999:80",
            PREFIX "\"99999999999999999999:80\": host port must be 1-65535\n");
  bad_port ("0-10:80", PREFIX "\"0-10:80\": host port must be 1-65535\n");
  bad_port ("abc:80", PREFIX "\"abc:80\": host port \"abc\" is not a number; write "
                             "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"\n");
  bad_port ("8080:http",
            PREFIX "\"8080:http\": container port \"http\" is not a number; write "
                   "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"\n");
  bad_port ("-1:80", PREFIX "\"-1:80\": host port \"-1\" is not a number; write "
                            "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"\n");
  bad_port ("+80", PREFIX "\"+80\": container port \"+80\" is not a number; write "
                          "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"\n");
  bad_port ("80-", PREFIX "\"80-\": container port \"80-\" is not a number; write "
                          "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"\n");
  bad_port ("8080:", PREFIX "\"8080:\": no container port; write "
                            "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\"\n");
  bad_port ("80/xyz", PREFIX "\"80/xyz\": unknown protocol \"xyz\"; use tcp, udp or sctp\n");
  bad_port ("80/TCPX", PREFIX "\"80/TCPX\": unknown protocol \"TCPX\"; use tcp, udp or sctp\n");
  bad_port ("8010-8000:80",
            PREFIX "\"8010-8000:80\": host port range 8010-8000 ends before it starts; write the "
                   "lower port first\n");
  bad_port ("81-80", PREFIX "\"81-80\": container port range 81-80 ends before it starts; write "
                            "the lower port first\n");
  bad_port ("8000-8002:80-81",
            PREFIX "\"8000-8002:80-81\": 3 host ports (8000-8002) for 2 container ports (80-81); "
                   "give both ranges the same length, or map a single container port\n");
  bad_port ("8000:80-81", PREFIX "\"8000:80-81\": 1 host port (8000) for 2 container ports "
                                 "(80-81); give both ranges the same length, or map a single "
                                 "container port\n");
  bad_port ("300.1.1.1:8080:80",
            PREFIX "\"300.1.1.1:8080:80\": host IP \"300.1.1.1\" is not an IP address; write e.g. "
                   "\"127.0.0.1:8080:80\" or \"[::1]:8080:80\"\n");
  bad_port ("1:2:3:4", PREFIX "\"1:2:3:4\": host IP \"1:2\" is not an IP address; write e.g. "
                              "\"127.0.0.1:8080:80\" or \"[::1]:8080:80\"\n");
  bad_port ("localhost:8080:80",
            PREFIX "\"localhost:8080:80\": host IP \"localhost\" is not an IP address; write e.g. "
                   "\"127.0.0.1:8080:80\" or \"[::1]:8080:80\"\n");
  bad_port ("[::1:8080:80", PREFIX "\"[::1:8080:80\": host IP \"[::1\" lacks its closing \"]\"; "
                                   "write IPv6 addresses as \"[::1]:8080:80\"\n");
  bad_port ("[]:8080:80", PREFIX "\"[]:8080:80\": host IP \"\" is not an IP address; write e.g. "
                                 "\"127.0.0.1:8080:80\" or \"[::1]:8080:80\"\n");

  fx_init (&f);
  bad_port_node (&f, scalar (&f, N_SCALAR, "true"),
                 PREFIX "a port must be a string such as \"8080:80\", a number or a mapping, not "
                        "a boolean\n");
  fx_free (&f);
  fx_init (&f);
  bad_port_node (&f, node_new (f.ld.arena, N_SEQ, (mark_t){ &src, 3, 7 }),
                 PREFIX "a port must be a string such as \"8080:80\", a number or a mapping, not "
                        "a list\n");
  fx_free (&f);
}

/* ---- volumes ---- */

static void
ok_volume (const char *text, const char *json)
{
  fx_t f;
  node_t *v;
  fx_init (&f);
  v = volume_parse_short (&f.ld, scalar (&f, N_SCALAR, text), PATH);
  if (v == NULL)
    {
      char *d = diags_text (&f);
      fail_msg ("volume \"%s\" rejected: %s", text, d);
    }
  assert_json (v, json);
  assert_int_equal (f.diags.len, 0);
  fx_free (&f);
}

static void
bad_volume_node (fx_t *f, node_t *n, const char *msg)
{
  assert_null (volume_parse_short (&f->ld, n, PATH));
  assert_diags (f, msg);
}

static void
bad_volume (const char *text, const char *msg)
{
  fx_t f;
  fx_init (&f);
  bad_volume_node (&f, scalar (&f, N_SCALAR, text), msg);
  fx_free (&f);
}

static void
test_volume_binds (void **state)
{
  (void)state;
  ok_volume ("./data:/data", "{\"bind\":{\"create_host_path\":true},\"source\":\"/proj/data\","
                             "\"target\":\"/data\",\"type\":\"bind\"}");
  ok_volume (".:/app", "{\"bind\":{\"create_host_path\":true},\"source\":\"/proj\","
                       "\"target\":\"/app\",\"type\":\"bind\"}");
  ok_volume ("../other/./x:/o:rshared",
             "{\"bind\":{\"create_host_path\":true,\"propagation\":\"rshared\"},\"source\":"
             "\"/other/x\",\"target\":\"/o\",\"type\":\"bind\"}");
  ok_volume ("~/cfg:/cfg:ro,z", "{\"bind\":{\"create_host_path\":true,\"selinux\":\"z\"},"
                                "\"read_only\":true,\"source\":\"/home/me/cfg\",\"target\":"
                                "\"/cfg\",\"type\":\"bind\"}");
  ok_volume ("~:/root/home", "{\"bind\":{\"create_host_path\":true},\"source\":\"/home/me\","
                             "\"target\":\"/root/home\",\"type\":\"bind\"}");
  /* absolute sources stay as written, as in compose-go */
  ok_volume ("/var/run/docker.sock:/var/run/docker.sock:ro",
             "{\"bind\":{\"create_host_path\":true},\"read_only\":true,\"source\":"
             "\"/var/run/docker.sock\",\"target\":\"/var/run/docker.sock\",\"type\":\"bind\"}");
  ok_volume ("/src:/dst:Z,slave",
             "{\"bind\":{\"create_host_path\":true,\"propagation\":\"slave\",\"selinux\":\"Z\"},"
             "\"source\":\"/src\",\"target\":\"/dst\",\"type\":\"bind\"}");
  /* the last of ro/rw wins; consistency hints are dropped */
  ok_volume ("./x:/y:ro,rw,cached", "{\"bind\":{\"create_host_path\":true},\"source\":"
                                    "\"/proj/x\",\"target\":\"/y\",\"type\":\"bind\"}");
  ok_volume ("./x:/y:delegated,ro", "{\"bind\":{\"create_host_path\":true},\"read_only\":true,"
                                    "\"source\":\"/proj/x\",\"target\":\"/y\",\"type\":\"bind\"}");
  /* Windows paths and pipes: binds, kept as written */
  ok_volume ("C:\\docker\\project:/test",
             "{\"bind\":{\"create_host_path\":true},\"source\":\"C:\\\\docker\\\\project\","
             "\"target\":\"/test\",\"type\":\"bind\"}");
  ok_volume ("\\\\.\\pipe\\engine:/pipe",
             "{\"bind\":{\"create_host_path\":true},\"source\":\"\\\\\\\\.\\\\pipe\\\\engine\","
             "\"target\":\"/pipe\",\"type\":\"bind\"}");
  /* a colon inside ${...} does not split */
  ok_volume ("/srv/${X:-a}:/x", "{\"bind\":{\"create_host_path\":true},\"source\":"
                                "\"/srv/${X:-a}\",\"target\":\"/x\",\"type\":\"bind\"}");
}

static void
test_volume_named_and_anonymous (void **state)
{
  (void)state;
  ok_volume ("db-data:/var/lib/mysql", "{\"source\":\"db-data\",\"target\":\"/var/lib/mysql\","
                                       "\"type\":\"volume\",\"volume\":{}}");
  ok_volume ("data:/x:nocopy", "{\"source\":\"data\",\"target\":\"/x\",\"type\":\"volume\","
                               "\"volume\":{\"nocopy\":true}}");
  ok_volume ("data:/x:ro,nocopy", "{\"read_only\":true,\"source\":\"data\",\"target\":\"/x\","
                                  "\"type\":\"volume\",\"volume\":{\"nocopy\":true}}");
  ok_volume ("v1.2_x-y:/x", "{\"source\":\"v1.2_x-y\",\"target\":\"/x\",\"type\":\"volume\","
                            "\"volume\":{}}");
  /* compose-go keeps bind options on a named volume (SELinux relabelling works there) */
  ok_volume ("data:/x:z", "{\"bind\":{\"selinux\":\"z\"},\"source\":\"data\",\"target\":\"/x\","
                          "\"type\":\"volume\",\"volume\":{}}");
  ok_volume ("/data", "{\"target\":\"/data\",\"type\":\"volume\",\"volume\":{}}");
  ok_volume ("/a", "{\"target\":\"/a\",\"type\":\"volume\",\"volume\":{}}");
  ok_volume ("/", "{\"target\":\"/\",\"type\":\"volume\",\"volume\":{}}");
}

static void
test_volume_errors (void **state)
{
  fx_t f;
  (void)state;

  bad_volume ("", PREFIX "empty volume; write SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\"\n");
  bad_volume (":/x", PREFIX "\":/x\": empty part between colons; write SOURCE:TARGET[:OPTIONS], "
                            "e.g. \"./data:/data:ro\"\n");
  bad_volume ("/foo::ro", PREFIX "\"/foo::ro\": empty part between colons; write "
                                 "SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\"\n");
  bad_volume ("/a:/b:", PREFIX "\"/a:/b:\": empty part between colons; write "
                               "SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\"\n");
  bad_volume ("/foo:/foo:ro:foo", PREFIX "\"/foo:/foo:ro:foo\": too many colons; write "
                                         "SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\"\n");
  bad_volume ("data:rel", PREFIX "\"data:rel\": the target \"rel\" must be an absolute path in "
                                 "the container, e.g. \"/data\"\n");
  bad_volume ("ab", PREFIX "\"ab\": the target \"ab\" must be an absolute path in the container, "
                           "e.g. \"/data\"\n");
  bad_volume ("data", PREFIX "\"data\": the target \"data\" must be an absolute path in the "
                             "container, e.g. \"/data\"\n");
  bad_volume ("/data:ro", PREFIX "\"/data:ro\": the target \"ro\" must be an absolute path in the "
                                 "container, e.g. \"/data\"\n");
  bad_volume ("my vol:/x", PREFIX "\"my vol:/x\": \"my vol\" is neither a host path nor a volume "
                                  "name; start host paths with /, ./ or ~/, and name volumes "
                                  "with letters, digits, _, . and -\n");
  bad_volume ("_x:/y", PREFIX "\"_x:/y\": \"_x\" is neither a host path nor a volume name; start "
                              "host paths with /, ./ or ~/, and name volumes with letters, "
                              "digits, _, . and -\n");
  bad_volume ("/a:/b:bogus", PREFIX "\"/a:/b:bogus\": unknown option \"bogus\"; use ro, rw, z, "
                                    "Z, nocopy or a propagation (shared, slave, private, rshared, "
                                    "rslave, rprivate)\n");
  bad_volume ("/a:/b:RO", PREFIX "\"/a:/b:RO\": unknown option \"RO\"; use ro, rw, z, Z, nocopy "
                                 "or a propagation (shared, slave, private, rshared, rslave, "
                                 "rprivate)\n");
  bad_volume ("/a:/b:ro,,z", PREFIX "\"/a:/b:ro,,z\": empty option between commas; write "
                                    "SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\"\n");
  bad_volume ("/a:/b:ro,", PREFIX "\"/a:/b:ro,\": empty option between commas; write "
                                  "SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\"\n");
  bad_volume ("./a:/b:nocopy", PREFIX "\"./a:/b:nocopy\": nocopy applies to named volumes, not "
                                      "to bind mounts; remove it\n");

  fx_init (&f);
  bad_volume_node (&f, node_new_int (f.ld.arena, 5, (mark_t){ &src, 3, 7 }),
                   PREFIX "a volume must be a string such as \"./data:/data\" or a mapping, not "
                          "a number\n");
  fx_free (&f);
}

/* ---- shell words ---- */

static void
ok_words (const char *text, const char *json)
{
  fx_t f;
  node_t *seq;
  fx_init (&f);
  seq = shell_split (&f.ld, scalar (&f, N_SCALAR, text), PATH);
  if (seq == NULL)
    {
      char *d = diags_text (&f);
      fail_msg ("shell_split (\"%s\") rejected: %s", text, d);
    }
  assert_int_equal (seq->kind, N_SEQ);
  if (seq->len > 0)
    {
      assert_int_equal (seq->items[0]->kind, N_STR);
      assert_int_equal (seq->items[0]->mark.line, 3);
    }
  assert_json (seq, json);
  assert_int_equal (f.diags.len, 0);
  fx_free (&f);
}

static void
bad_words (const char *text, const char *msg)
{
  fx_t f;
  fx_init (&f);
  assert_null (shell_split (&f.ld, scalar (&f, N_SCALAR, text), PATH));
  assert_diags (&f, msg);
  fx_free (&f);
}

static void
test_shell_split (void **state)
{
  (void)state;
  ok_words ("echo hello world", "[\"echo\",\"hello\",\"world\"]");
  ok_words ("  a \t b\r\nc  ", "[\"a\",\"b\",\"c\"]");
  ok_words ("", "[]");
  ok_words ("   ", "[]");
  ok_words ("sh -c 'echo $HOME && ls | wc'", "[\"sh\",\"-c\",\"echo $HOME && ls | wc\"]");
  ok_words ("echo \"a b\" c", "[\"echo\",\"a b\",\"c\"]");
  ok_words ("echo \"say \\\"hi\\\" now\"", "[\"echo\",\"say \\\"hi\\\" now\"]");
  ok_words ("echo 'a\\b'", "[\"echo\",\"a\\\\b\"]");
  ok_words ("echo \"a\\\\b\"", "[\"echo\",\"a\\\\b\"]");
  ok_words ("a\\ b c", "[\"a b\",\"c\"]");
  ok_words ("echo \\\"x", "[\"echo\",\"\\\"x\"]");
  ok_words ("echo \"\" ''", "[\"echo\",\"\",\"\"]");
  ok_words ("x''y \"a\"'b'c", "[\"xy\",\"abc\"]");
  ok_words ("--opt=\"a b\"", "[\"--opt=a b\"]");
  ok_words ("echo \"it's\" 'say \"x\"'", "[\"echo\",\"it's\",\"say \\\"x\\\"\"]");
  ok_words ("echo '$HOME' ${X} *.txt ~", "[\"echo\",\"$HOME\",\"${X}\",\"*.txt\",\"~\"]");
  ok_words ("echo \"a;b&c|d<e>f\"", "[\"echo\",\"a;b&c|d<e>f\"]");
  ok_words ("echo a\\;b", "[\"echo\",\"a;b\"]");
  /* $(...) and `...` are kept as written (no shell runs them) */
  ok_words ("echo $(date +%s) `id -u`", "[\"echo\",\"$(date +%s)\",\"`id -u`\"]");
  ok_words ("echo `echo \"a  b\"` $(x 'y z') $(a\\)b)",
            "[\"echo\",\"`echo a  b`\",\"$(x 'y z')\",\"$(a)b)\"]");
  ok_words ("echo h\xc3\xa9llo", "[\"echo\",\"h\xc3\xa9llo\"]");
}

static void
test_shell_split_errors (void **state)
{
  fx_t f;
  (void)state;

  bad_words ("echo 'hi", PREFIX "\"echo 'hi\": unterminated single quote; add the closing ', or "
                                "write the command as a list, or as [\"sh\", \"-c\", \"...\"] to "
                                "use a shell\n");
  bad_words ("echo \"hi", PREFIX "\"echo \"hi\": unterminated double quote; add the closing \", "
                                 "or write the command as a list, or as [\"sh\", \"-c\", \"...\"] "
                                 "to use a shell\n");
  bad_words ("echo \"it's", PREFIX "\"echo \"it's\": unterminated double quote; add the closing "
                                   "\", or write the command as a list, or as [\"sh\", \"-c\", "
                                   "\"...\"] to use a shell\n");
  bad_words ("echo hi\\", PREFIX "\"echo hi\\\": ends with a lone backslash; remove it, or write "
                                 "\\\\ for a backslash\n");
  bad_words ("echo `id", PREFIX "\"echo `id\": unterminated backtick; add the closing `\n");
  bad_words ("echo $(id", PREFIX "\"echo $(id\": unterminated \"$(\"; add the closing \")\"\n");
  bad_words ("echo a && echo b",
             PREFIX "\"echo a && echo b\": \"&&\" is shell syntax, but the command runs without a "
                    "shell; quote it, or write the command as a list, or as [\"sh\", \"-c\", "
                    "\"...\"] to use a shell\n");
  bad_words ("cat <f", PREFIX "\"cat <f\": \"<\" is shell syntax, but the command runs without a "
                              "shell; quote it, or write the command as a list, or as [\"sh\", "
                              "\"-c\", \"...\"] to use a shell\n");
  bad_words ("run 2>&1", PREFIX "\"run 2>&1\": \">&\" is shell syntax, but the command runs "
                                "without a shell; quote it, or write the command as a list, or "
                                "as [\"sh\", \"-c\", \"...\"] to use a shell\n");
  bad_words ("a; b", PREFIX "\"a; b\": \";\" is shell syntax, but the command runs without a "
                            "shell; quote it, or write the command as a list, or as [\"sh\", "
                            "\"-c\", \"...\"] to use a shell\n");
  bad_words ("echo (a)", PREFIX "\"echo (a)\": \"(\" outside quotes is shell syntax, but the "
                                "command runs without a shell; quote it, or write the command as "
                                "a list, or as [\"sh\", \"-c\", \"...\"] to use a shell\n");
  bad_words ("echo a)", PREFIX "\"echo a)\": \")\" without \"$(\"; quote it, or write the command "
                               "as a list, or as [\"sh\", \"-c\", \"...\"] to use a shell\n");

  fx_init (&f);
  assert_null (shell_split (&f.ld, node_new (f.ld.arena, N_MAP, (mark_t){ &src, 3, 7 }), PATH));
  assert_diags (&f, PREFIX "a command must be a string or a list of strings, not a mapping\n");
  fx_free (&f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duration_parse),      cmocka_unit_test (test_duration_parse_invalid),
    cmocka_unit_test (test_duration_format),     cmocka_unit_test (test_bytes_parse),
    cmocka_unit_test (test_bytes_parse_invalid), cmocka_unit_test (test_port_forms),
    cmocka_unit_test (test_port_ranges),         cmocka_unit_test (test_port_errors),
    cmocka_unit_test (test_volume_binds),        cmocka_unit_test (test_volume_named_and_anonymous),
    cmocka_unit_test (test_volume_errors),       cmocka_unit_test (test_shell_split),
    cmocka_unit_test (test_shell_split_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

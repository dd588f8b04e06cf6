/* test_rules.c — the nft script of a project, to the byte: published ports
   of every kind, a normal and an internal network. The script is applied
   for real by tests/integration/test_network.c. */
#include <stdlib.h>

#include "helpers.h"
#include "network.h"

static uint32_t
A (const char *s)
{
  uint32_t a = 0;
  assert_true (net_addr_parse (s, &a));
  return a;
}

static net_prefix_t
P (const char *s)
{
  net_prefix_t p = { 0 };
  assert_true (net_prefix_parse (s, &p));
  return p;
}

static void
test_script_of_a_project (void **state)
{
  net_rules_bridge_t bridges[] = {
    { .name = "stkdemo0", .subnet = P ("172.18.0.0/24"), .internal = false },
    { .name = "stkdemo1", .subnet = P ("172.18.1.0/24"), .internal = true },
  };
  net_port_t ports[] = {
    /* every address of the host */
    { .host_ip = 0,
      .host_port = 8080,
      .addr = A ("172.18.0.2"),
      .container_port = 80,
      .protocol = NET_TCP,
      .bridge = "stkdemo0" },
    /* the host's loopback only: no prerouting rule at all */
    { .host_ip = A ("127.0.0.1"),
      .host_port = 8081,
      .addr = A ("172.18.0.2"),
      .container_port = 81,
      .protocol = NET_TCP,
      .bridge = "stkdemo0" },
    /* one address of the host */
    { .host_ip = A ("192.0.2.2"),
      .host_port = 8443,
      .addr = A ("172.18.0.3"),
      .container_port = 443,
      .protocol = NET_TCP,
      .bridge = "stkdemo0" },
    { .host_ip = 0,
      .host_port = 5353,
      .addr = A ("172.18.0.3"),
      .container_port = 53,
      .protocol = NET_UDP,
      .bridge = "stkdemo0" },
    { .host_ip = A ("127.0.0.2"),
      .host_port = 5354,
      .addr = A ("172.18.1.2"),
      .container_port = 53,
      .protocol = NET_UDP,
      .bridge = "stkdemo1" },
  };
  net_rules_t r
      = { .project = "demo", .bridges = bridges, .n_bridges = 2, .ports = ports, .n_ports = 5 };
  char *script;
  (void)state;

  script = net_rules_script (&r);
  assert_string_equal (
      script,
      "add table inet stack\n"
      "add chain inet stack demo-dnat { type nat hook prerouting priority dstnat; policy accept; "
      "}\n"
      "flush chain inet stack demo-dnat\n"
      "add rule inet stack demo-dnat fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 8080 "
      "dnat ip to 172.18.0.2:80\n"
      "add rule inet stack demo-dnat ip daddr 192.0.2.2 tcp dport 8443 dnat ip to 172.18.0.3:443\n"
      "add rule inet stack demo-dnat fib daddr type local ip daddr != 127.0.0.0/8 udp dport 5353 "
      "dnat ip to 172.18.0.3:53\n"
      "add chain inet stack demo-output { type nat hook output priority -100; policy accept; }\n"
      "flush chain inet stack demo-output\n"
      "add rule inet stack demo-output fib daddr type local tcp dport 8080 dnat ip to "
      "172.18.0.2:80\n"
      "add rule inet stack demo-output ip daddr 127.0.0.1 tcp dport 8081 dnat ip to 172.18.0.2:81\n"
      "add rule inet stack demo-output ip daddr 192.0.2.2 tcp dport 8443 dnat ip to "
      "172.18.0.3:443\n"
      "add rule inet stack demo-output fib daddr type local udp dport 5353 dnat ip to "
      "172.18.0.3:53\n"
      "add rule inet stack demo-output ip daddr 127.0.0.2 udp dport 5354 dnat ip to 172.18.1.2:53\n"
      "add chain inet stack demo-snat { type nat hook postrouting priority srcnat; policy accept; "
      "}\n"
      "flush chain inet stack demo-snat\n"
      "add rule inet stack demo-snat ip saddr 172.18.0.0/24 oifname != \"stkdemo0\" masquerade\n"
      "add rule inet stack demo-snat oifname \"stkdemo0\" ip saddr 127.0.0.0/8 masquerade\n"
      "add rule inet stack demo-snat oifname \"stkdemo0\" ip saddr 172.18.0.0/24 ct status dnat "
      "masquerade\n"
      "add rule inet stack demo-snat oifname \"stkdemo1\" ip saddr 127.0.0.0/8 masquerade\n"
      "add rule inet stack demo-snat oifname \"stkdemo1\" ip saddr 172.18.1.0/24 ct status dnat "
      "masquerade\n"
      "add chain inet stack demo-filter { type filter hook forward priority filter; policy accept; "
      "}\n"
      "flush chain inet stack demo-filter\n"
      "add rule inet stack demo-filter oifname \"stkdemo0\" ct state established,related accept\n"
      "add rule inet stack demo-filter iifname \"stkdemo0\" oifname \"stkdemo0\" accept\n"
      "add rule inet stack demo-filter oifname \"stkdemo0\" ct status dnat accept\n"
      "add rule inet stack demo-filter oifname \"stkdemo0\" drop\n"
      "add rule inet stack demo-filter oifname \"stkdemo1\" ct state established,related accept\n"
      "add rule inet stack demo-filter iifname \"stkdemo1\" oifname \"stkdemo1\" accept\n"
      "add rule inet stack demo-filter oifname \"stkdemo1\" drop\n"
      "add rule inet stack demo-filter iifname \"stkdemo0\" accept\n"
      "add rule inet stack demo-filter iifname \"stkdemo1\" drop\n"
      "add chain inet stack demo-guard { type filter hook prerouting priority raw; policy accept; "
      "}\n"
      "flush chain inet stack demo-guard\n"
      "add rule inet stack demo-guard iifname \"stkdemo0\" ip daddr 127.0.0.0/8 drop\n"
      "add rule inet stack demo-guard iifname \"stkdemo1\" ip daddr 127.0.0.0/8 drop\n");
  free (script);
}

/* No networks, no ports (network_mode: none everywhere): the five chains,
   empty, so that applying it clears what an earlier `up` left. */
static void
test_script_of_an_empty_project (void **state)
{
  net_rules_t r = { .project = "empty" };
  char *script;
  (void)state;

  script = net_rules_script (&r);
  assert_string_equal (
      script,
      "add table inet stack\n"
      "add chain inet stack empty-dnat { type nat hook prerouting priority dstnat; policy accept; "
      "}\n"
      "flush chain inet stack empty-dnat\n"
      "add chain inet stack empty-output { type nat hook output priority -100; policy accept; }\n"
      "flush chain inet stack empty-output\n"
      "add chain inet stack empty-snat { type nat hook postrouting priority srcnat; policy accept; "
      "}\n"
      "flush chain inet stack empty-snat\n"
      "add chain inet stack empty-filter { type filter hook forward priority filter; policy "
      "accept; }\n"
      "flush chain inet stack empty-filter\n"
      "add chain inet stack empty-guard { type filter hook prerouting priority raw; policy accept; "
      "}\n"
      "flush chain inet stack empty-guard\n");
  free (script);
}

/* nft 1.0.6 takes no chain name that starts with a digit, quoted or not */
static void
test_project_starting_with_a_digit (void **state)
{
  net_rules_t r = { .project = "1app" };
  char *script;
  (void)state;

  script = net_rules_script (&r);
  assert_non_null (strstr (script, "add chain inet stack _1app-dnat {"));
  assert_non_null (strstr (script, "flush chain inet stack _1app-guard\n"));
  assert_null (strstr (script, " 1app-"));
  free (script);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_script_of_a_project),
    cmocka_unit_test (test_script_of_an_empty_project),
    cmocka_unit_test (test_project_starting_with_a_digit),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

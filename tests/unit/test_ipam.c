/* test_ipam.c — IPv4 prefixes, the choice of a network's /24, and the
   addresses handed out in it. */
#include "helpers.h"
#include "network.h"

static net_prefix_t
P (const char *s)
{
  net_prefix_t p = { 0 };
  assert_true (net_prefix_parse (s, &p));
  return p;
}

static const char *
fmt (net_prefix_t p)
{
  static char buf[32];
  return net_prefix_format (p, buf, sizeof buf);
}

static void
test_parse_and_format (void **state)
{
  net_prefix_t p;
  char buf[32];
  (void)state;

  assert_string_equal (fmt (P ("10.1.2.0/24")), "10.1.2.0/24");
  assert_string_equal (fmt (P ("0.0.0.0/0")), "0.0.0.0/0");
  assert_string_equal (fmt (P ("192.168.1.7")), "192.168.1.7/32");
  /* host bits set, malformed numbers, out of range */
  assert_false (net_prefix_parse ("10.1.2.3/24", &p));
  assert_false (net_prefix_parse ("10.1.2.0/33", &p));
  assert_false (net_prefix_parse ("10.1.2.0/", &p));
  assert_false (net_prefix_parse ("10.1.2.0/024", &p));
  assert_false (net_prefix_parse ("10.1.2.0/-1", &p));
  assert_false (net_prefix_parse ("10.1.2/24", &p));
  assert_false (net_prefix_parse ("256.1.2.0/24", &p));
  assert_false (net_prefix_parse ("10.1.2.0/24x", &p));
  assert_false (net_prefix_parse ("", &p));
  assert_string_equal (net_addr_format (0x0a000001, buf, sizeof buf), "10.0.0.1");
}

static void
test_overlaps (void **state)
{
  (void)state;
  assert_true (net_prefix_overlaps (P ("10.0.0.0/8"), P ("10.89.3.0/24")));
  assert_true (net_prefix_overlaps (P ("10.89.3.0/24"), P ("10.0.0.0/8")));
  assert_true (net_prefix_overlaps (P ("0.0.0.0/0"), P ("172.18.0.0/24")));
  assert_true (net_prefix_overlaps (P ("172.18.0.5"), P ("172.18.0.0/24")));
  assert_false (net_prefix_overlaps (P ("172.18.1.0/24"), P ("172.18.0.0/24")));
  assert_false (net_prefix_overlaps (P ("172.18.0.0/24"), P ("172.18.1.0/24")));
  assert_true (net_prefix_contains (P ("172.18.0.0/24"), 0xac1200ff));
  assert_false (net_prefix_contains (P ("172.18.0.0/24"), 0xac120100));
  /* a host address: inside, neither the network nor the broadcast address */
  assert_true (net_prefix_host (P ("172.18.0.0/24"), 0xac120001));
  assert_true (net_prefix_host (P ("172.18.0.0/24"), 0xac1200fe));
  assert_false (net_prefix_host (P ("172.18.0.0/24"), 0xac120000));
  assert_false (net_prefix_host (P ("172.18.0.0/24"), 0xac1200ff));
  assert_false (net_prefix_host (P ("172.18.0.0/24"), 0xac120101));
}

static void
test_pick_avoids_what_is_taken (void **state)
{
  net_prefix_t out;
  (void)state;

  assert_true (net_pick_subnet (NULL, 0, &out));
  assert_string_equal (fmt (out), "172.18.0.0/24");
  {
    /* the host's route to 172.18/16 and another project's 172.19.0.0/24 */
    net_prefix_t taken[] = { P ("172.18.0.0/16"), P ("172.19.0.0/24"), P ("172.19.1.7") };
    assert_true (net_pick_subnet (taken, 3, &out));
    assert_string_equal (fmt (out), "172.19.2.0/24");
  }
  {
    /* a VPN's 172.16.0.0/12 takes every 172 /24: the next pool */
    net_prefix_t taken[] = { P ("172.16.0.0/12") };
    assert_true (net_pick_subnet (taken, 1, &out));
    assert_string_equal (fmt (out), "10.89.0.0/24");
  }
  {
    /* a default route is not a reason to avoid anything, but a /0 taken
       as a subnet would be: everything is taken */
    net_prefix_t taken[] = { P ("0.0.0.0/0") };
    assert_false (net_pick_subnet (taken, 1, &out));
  }
}

static void
test_addresses (void **state)
{
  net_prefix_t s = P ("172.18.5.0/24");
  uint32_t used[] = { 0xac120502, 0xac120504 };
  char buf[16];
  (void)state;

  assert_string_equal (net_addr_format (net_gateway (s), buf, sizeof buf), "172.18.5.1");
  assert_string_equal (net_addr_format (net_next_address (s, NULL, 0), buf, sizeof buf),
                       "172.18.5.2");
  assert_string_equal (net_addr_format (net_next_address (s, used, 2), buf, sizeof buf),
                       "172.18.5.3");
  {
    /* a /30 has two hosts: the gateway and one more */
    net_prefix_t small = P ("10.0.0.0/30");
    uint32_t one[] = { 0x0a000002 };
    assert_int_equal (net_next_address (small, NULL, 0), 0x0a000002);
    assert_int_equal (net_next_address (small, one, 1), 0);
    assert_int_equal (net_next_address (P ("10.0.0.0/31"), NULL, 0), 0);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_and_format),
    cmocka_unit_test (test_overlaps),
    cmocka_unit_test (test_pick_avoids_what_is_taken),
    cmocka_unit_test (test_addresses),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

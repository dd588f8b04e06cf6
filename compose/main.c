/* main.c — the `stack` binary. */
#include "compose.h"

int
main (int argc, char **argv)
{
  return cli_main (argc, argv);
}

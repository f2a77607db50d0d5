/* Placeholder until the VMM lands: prints the version. */
#include "config.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	printf("mvirt-vmm %s\n", PACKAGE_VERSION);
	return 0;
}

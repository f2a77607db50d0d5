/* Daemon start: what the store says ran is found again or started again (see restore.c). */
#pragma once

struct manager;

/* Loads the domains from the store, reconnects or restarts running ones, starts autostart ones. */
int manager_restore(struct manager *m);

// shmtable/shmtable.hpp: the umbrella header. Include this, link with -lshmtable
// (pkg-config: shmtable).
#pragma once

#include "shmtable/config.hpp"
#include "shmtable/engines.hpp"
#include "shmtable/error.hpp"
#include "shmtable/hash.hpp"
#include "shmtable/inspection.hpp"
#include "shmtable/lockfree_table.hpp"
#include "shmtable/mutex_table.hpp"
#include "shmtable/options.hpp"
#include "shmtable/recovery.hpp"
#include "shmtable/segment.hpp"
#include "shmtable/stats.hpp"
#include "shmtable/table.hpp"
#include "shmtable/updater.hpp"

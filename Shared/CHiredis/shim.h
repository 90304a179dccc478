#ifndef EXCHANGE_CHIREDIS_SHIM_H
#define EXCHANGE_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif

#ifndef EXCHANGE_CRDKAFKA_SHIM_H
#define EXCHANGE_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

#ifndef EXCHANGE_MALLOC_COUNTER_H
#define EXCHANGE_MALLOC_COUNTER_H
/* Allocation counter for benchmarks: preload libExchangeMallocCounter.so (LD_PRELOAD) and read
 * `exchange_malloc_count` with dlsym. Never linked into a service. */
extern long exchange_malloc_count;
#endif

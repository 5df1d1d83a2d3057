// Read bandwidth: T threads each sum their slice of a large float array (AVX-512 loads, 4 accumulators), best of 5.
// gcc -O3 -march=native -pthread membw.c -o membw && ./membw MIB THREADS     (e.g. ./membw 1024 2)
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static float *buf; static size_t n; static int T;
static double now(){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
static void *work(void *arg){ long i=(long)arg; size_t a=n/T*i, b=n/T*(i+1);
  __m512 s0=_mm512_setzero_ps(), s1=s0, s2=s0, s3=s0;
  for(size_t j=a;j<b;j+=64){ s0=_mm512_add_ps(s0,_mm512_load_ps(buf+j)); s1=_mm512_add_ps(s1,_mm512_load_ps(buf+j+16)); s2=_mm512_add_ps(s2,_mm512_load_ps(buf+j+32)); s3=_mm512_add_ps(s3,_mm512_load_ps(buf+j+48)); }
  float r=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0,s1),_mm512_add_ps(s2,s3))); static volatile float sink; sink=r; return NULL; }
int main(int c,char**v){ size_t bytes=(size_t)atol(v[1])<<20; T=atoi(v[2]); n=bytes/4; buf=aligned_alloc(64,bytes); memset(buf,0,bytes);
  for(int k=0;k<5;k++){ pthread_t th[64]; double t=now(); for(long i=0;i<T;i++) pthread_create(&th[i],0,work,(void*)i); for(int i=0;i<T;i++) pthread_join(th[i],0); t=now()-t; printf("%d threads: %.1f GB/s\n",T,bytes/t/1e9);} }

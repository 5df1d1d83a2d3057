// Read bandwidth: T threads each sum their slice of a large float array (AVX-512 loads, 4 accumulators), 5 passes:
// each pass, then the median and the range.
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
static int cmp(const void *a, const void *b){ double x=*(const double*)a, y=*(const double*)b; return (x>y)-(x<y); }
int main(int c,char**v){
  long mib = c == 3 ? atol(v[1]) : 0; T = c == 3 ? atoi(v[2]) : 0;
  if(mib < 1 || T < 1 || T > 64){
    fprintf(stderr, "usage: membw MIB THREADS   (MIB >= 1: buffer size; THREADS 1..64: readers, each its own slice)\n"
                    "  reads the buffer 5 times; prints each pass, then the median and the range in GB/s\n");
    return 2; }
  size_t bytes=(size_t)mib<<20; n=bytes/4; n -= n % (64*(size_t)T);   // whole 64-float blocks per thread
  buf=aligned_alloc(64,n*4); if(!buf){ fprintf(stderr, "membw: cannot allocate %ld MiB\n", mib); return 1; } memset(buf,0,n*4);
  double r[5];
  for(int k=0;k<5;k++){ pthread_t th[64]; double t=now(); for(long i=0;i<T;i++) pthread_create(&th[i],0,work,(void*)i); for(int i=0;i<T;i++) pthread_join(th[i],0); t=now()-t; r[k]=n*4/t/1e9; printf("%d threads: %.1f GB/s\n",T,r[k]);}
  qsort(r,5,sizeof r[0],cmp); printf("median %.1f GB/s (range %.1f-%.1f)\n", r[2], r[0], r[4]); return 0; }

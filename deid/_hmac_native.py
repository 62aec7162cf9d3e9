"""Native HMAC-SHA256 pseudonyms: a small C loop (SHA-NI when the CPU has it), via cffi.

The C source below is compiled once per machine on first use into a cache folder
(``$DEID_NATIVE_DIR``, else ``$XDG_CACHE_HOME/deid-native`` or ``~/.cache/deid-native``),
keyed by the hash of the source and the Python version. If there is no C compiler,
or ``DEID_NATIVE=0``, :func:`load` returns None and :mod:`deid.pseudonym` uses
polars-hash instead; the output is identical (standard HMAC-SHA256, checked in tests).

Per value: HMAC with the inner/outer SHA-256 states precomputed once per key (two
compressions for an id shorter than 56 bytes, two ids interleaved to hide the
latency of the SHA-NI instructions), truncation to 128 bits and base32 (RFC 4648,
lowercase, unpadded) in the same loop. The call releases the GIL.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deid import settings

__all__ = ["available", "hmac_b32", "load"]

_CDEF = """
void deid_hmac_b32(const uint8_t *key, size_t keylen, const uint8_t *data, const int64_t *off,
                   size_t n, uint8_t *out, int use_ni);
int deid_has_shani(void);
"""

_SOURCE = r"""
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#define DEID_X86 1
#include <immintrin.h>
#endif

static const uint32_t K256[64] = {
0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

static const uint32_t IV[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};

#define ROR(x,n) (((x)>>(n))|((x)<<(32-(n))))
static void compress_c(uint32_t s[8], const uint8_t *p) {
  uint32_t w[64];
  for (int i=0;i<16;i++) w[i]=((uint32_t)p[4*i]<<24)|((uint32_t)p[4*i+1]<<16)|((uint32_t)p[4*i+2]<<8)|p[4*i+3];
  for (int i=16;i<64;i++){uint32_t s0=ROR(w[i-15],7)^ROR(w[i-15],18)^(w[i-15]>>3); uint32_t s1=ROR(w[i-2],17)^ROR(w[i-2],19)^(w[i-2]>>10); w[i]=w[i-16]+s0+w[i-7]+s1;}
  uint32_t a=s[0],b=s[1],c=s[2],d=s[3],e=s[4],f=s[5],g=s[6],h=s[7];
  for (int i=0;i<64;i++){uint32_t S1=ROR(e,6)^ROR(e,11)^ROR(e,25); uint32_t ch=(e&f)^(~e&g); uint32_t t1=h+S1+ch+K256[i]+w[i]; uint32_t S0=ROR(a,2)^ROR(a,13)^ROR(a,22); uint32_t mj=(a&b)^(a&c)^(b&c); uint32_t t2=S0+mj; h=g;g=f;f=e;e=d+t1;d=c;c=b;b=a;a=t1+t2;}
  s[0]+=a;s[1]+=b;s[2]+=c;s[3]+=d;s[4]+=e;s[5]+=f;s[6]+=g;s[7]+=h;
}

#ifdef DEID_X86
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_ni(uint32_t state[8], const uint8_t *data) {
  __m128i STATE0, STATE1, TMP, MSG, ABEF, CDGH, W[4];
  const __m128i MASK = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  TMP = _mm_loadu_si128((const __m128i*)&state[0]);
  STATE1 = _mm_loadu_si128((const __m128i*)&state[4]);
  TMP = _mm_shuffle_epi32(TMP, 0xB1);
  STATE1 = _mm_shuffle_epi32(STATE1, 0x1B);
  STATE0 = _mm_alignr_epi8(TMP, STATE1, 8);
  STATE1 = _mm_blend_epi16(STATE1, TMP, 0xF0);
  ABEF = STATE0; CDGH = STATE1;
  for (int i = 0; i < 4; i++) W[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(data + 16*i)), MASK);
  _Pragma("GCC unroll 16")
  for (int g = 0; g < 16; g++) {
    __m128i cur;
    if (g < 4) cur = W[g];
    else {
      __m128i t = _mm_sha256msg1_epu32(W[g & 3], W[(g + 1) & 3]);
      t = _mm_add_epi32(t, _mm_alignr_epi8(W[(g + 3) & 3], W[(g + 2) & 3], 4));
      cur = _mm_sha256msg2_epu32(t, W[(g + 3) & 3]);
      W[g & 3] = cur;
    }
    MSG = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i*)&K256[4*g]));
    STATE1 = _mm_sha256rnds2_epu32(STATE1, STATE0, MSG);
    MSG = _mm_shuffle_epi32(MSG, 0x0E);
    STATE0 = _mm_sha256rnds2_epu32(STATE0, STATE1, MSG);
  }
  STATE0 = _mm_add_epi32(STATE0, ABEF);
  STATE1 = _mm_add_epi32(STATE1, CDGH);
  TMP = _mm_shuffle_epi32(STATE0, 0x1B);
  STATE1 = _mm_shuffle_epi32(STATE1, 0xB1);
  STATE0 = _mm_blend_epi16(TMP, STATE1, 0xF0);
  STATE1 = _mm_alignr_epi8(STATE1, TMP, 8);
  _mm_storeu_si128((__m128i*)&state[0], STATE0);
  _mm_storeu_si128((__m128i*)&state[4], STATE1);
}


__attribute__((target("sha,sse4.1,ssse3")))
static void compress_ni_x2(uint32_t sa[8], const uint8_t *da, uint32_t sb[8], const uint8_t *db) {
  const __m128i MASK = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i A0, A1, B0, B1, T, MA, MB, ABEFa, CDGHa, ABEFb, CDGHb, WA[4], WB[4];
  T = _mm_loadu_si128((const __m128i*)&sa[0]); A1 = _mm_loadu_si128((const __m128i*)&sa[4]);
  T = _mm_shuffle_epi32(T, 0xB1); A1 = _mm_shuffle_epi32(A1, 0x1B);
  A0 = _mm_alignr_epi8(T, A1, 8); A1 = _mm_blend_epi16(A1, T, 0xF0);
  T = _mm_loadu_si128((const __m128i*)&sb[0]); B1 = _mm_loadu_si128((const __m128i*)&sb[4]);
  T = _mm_shuffle_epi32(T, 0xB1); B1 = _mm_shuffle_epi32(B1, 0x1B);
  B0 = _mm_alignr_epi8(T, B1, 8); B1 = _mm_blend_epi16(B1, T, 0xF0);
  ABEFa = A0; CDGHa = A1; ABEFb = B0; CDGHb = B1;
  for (int i = 0; i < 4; i++) {
    WA[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(da + 16*i)), MASK);
    WB[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i*)(db + 16*i)), MASK);
  }
  _Pragma("GCC unroll 16")
  for (int g = 0; g < 16; g++) {
    __m128i ca, cb;
    if (g < 4) { ca = WA[g]; cb = WB[g]; }
    else {
      __m128i ta = _mm_sha256msg1_epu32(WA[g & 3], WA[(g + 1) & 3]);
      __m128i tb = _mm_sha256msg1_epu32(WB[g & 3], WB[(g + 1) & 3]);
      ta = _mm_add_epi32(ta, _mm_alignr_epi8(WA[(g + 3) & 3], WA[(g + 2) & 3], 4));
      tb = _mm_add_epi32(tb, _mm_alignr_epi8(WB[(g + 3) & 3], WB[(g + 2) & 3], 4));
      ca = _mm_sha256msg2_epu32(ta, WA[(g + 3) & 3]);
      cb = _mm_sha256msg2_epu32(tb, WB[(g + 3) & 3]);
      WA[g & 3] = ca; WB[g & 3] = cb;
    }
    __m128i k = _mm_loadu_si128((const __m128i*)&K256[4*g]);
    MA = _mm_add_epi32(ca, k); MB = _mm_add_epi32(cb, k);
    A1 = _mm_sha256rnds2_epu32(A1, A0, MA); B1 = _mm_sha256rnds2_epu32(B1, B0, MB);
    MA = _mm_shuffle_epi32(MA, 0x0E); MB = _mm_shuffle_epi32(MB, 0x0E);
    A0 = _mm_sha256rnds2_epu32(A0, A1, MA); B0 = _mm_sha256rnds2_epu32(B0, B1, MB);
  }
  A0 = _mm_add_epi32(A0, ABEFa); A1 = _mm_add_epi32(A1, CDGHa);
  B0 = _mm_add_epi32(B0, ABEFb); B1 = _mm_add_epi32(B1, CDGHb);
  T = _mm_shuffle_epi32(A0, 0x1B); A1 = _mm_shuffle_epi32(A1, 0xB1);
  A0 = _mm_blend_epi16(T, A1, 0xF0); A1 = _mm_alignr_epi8(A1, T, 8);
  _mm_storeu_si128((__m128i*)&sa[0], A0); _mm_storeu_si128((__m128i*)&sa[4], A1);
  T = _mm_shuffle_epi32(B0, 0x1B); B1 = _mm_shuffle_epi32(B1, 0xB1);
  B0 = _mm_blend_epi16(T, B1, 0xF0); B1 = _mm_alignr_epi8(B1, T, 8);
  _mm_storeu_si128((__m128i*)&sb[0], B0); _mm_storeu_si128((__m128i*)&sb[4], B1);
}
#else
static void compress_ni(uint32_t state[8], const uint8_t *data) { compress_c(state, data); }
static void compress_ni_x2(uint32_t sa[8], const uint8_t *da, uint32_t sb[8], const uint8_t *db) {
  compress_c(sa, da); compress_c(sb, db);
}
#endif

typedef void (*compress_fn)(uint32_t*, const uint8_t*);

int deid_has_shani(void) {
#ifdef DEID_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
#else
  return 0;
#endif
}

static const char ALPH[] = "abcdefghijklmnopqrstuvwxyz234567";

static void store_be(uint8_t *o, const uint32_t s[8]) {
  for (int j = 0; j < 8; j++) { o[4*j]=s[j]>>24; o[4*j+1]=s[j]>>16; o[4*j+2]=s[j]>>8; o[4*j+3]=s[j]; }
}

static void emit_b32(const uint32_t t[8], uint8_t *o) {
  uint8_t h[17];
  for (int j = 0; j < 4; j++) { h[4*j]=t[j]>>24; h[4*j+1]=t[j]>>16; h[4*j+2]=t[j]>>8; h[4*j+3]=t[j]; }
  h[16] = 0;
  int bit = 0;
  for (int j = 0; j < 26; j++) { int byte = bit >> 3, sh = bit & 7; unsigned v = ((unsigned)h[byte] << 8) | h[byte+1]; o[j] = ALPH[(v >> (11 - sh)) & 31]; bit += 5; }
}

static void one_value(compress_fn F, const uint32_t is[8], const uint32_t os[8], const uint8_t *m, size_t L, uint8_t ob_template[64], uint8_t *o) {
  uint8_t blk[128]; uint8_t ob[64]; memcpy(ob, ob_template, 64);
  uint32_t s[8]; memcpy(s, is, 32);
  size_t full = L / 64, rem = L % 64;
  for (size_t b = 0; b < full; b++) F(s, m + 64*b);
  memset(blk, 0, 128); memcpy(blk, m + 64*full, rem); blk[rem] = 0x80;
  size_t nb = (rem < 56) ? 1 : 2; uint64_t bits = (uint64_t)(64 + L) * 8;
  for (int j = 0; j < 8; j++) blk[64*nb - 1 - j] = (uint8_t)(bits >> (8*j));
  for (size_t b = 0; b < nb; b++) F(s, blk + 64*b);
  store_be(ob, s);
  uint32_t t[8]; memcpy(t, os, 32); F(t, ob);
  emit_b32(t, o);
}

/* HMAC-SHA256(key, data[off[i]:off[i+1]]) truncated to 16 bytes, base32 lowercase (26 chars) */
void deid_hmac_b32(const uint8_t *key, size_t keylen, const uint8_t *data, const int64_t *off,
                   size_t n, uint8_t *out, int use_ni) {
  compress_fn F = use_ni ? compress_ni : compress_c;
  uint8_t k[64]; memset(k, 0, 64);
  if (keylen > 64) {
    /* key = SHA256(key) */
    uint32_t s[8]; memcpy(s, IV, 32);
    size_t full = keylen / 64, rem = keylen % 64;
    for (size_t b = 0; b < full; b++) F(s, key + 64*b);
    uint8_t blk[128]; memset(blk, 0, 128); memcpy(blk, key + 64*full, rem); blk[rem] = 0x80;
    size_t nb = (rem < 56) ? 1 : 2; uint64_t bits = (uint64_t)keylen * 8;
    for (int j = 0; j < 8; j++) blk[64*nb - 1 - j] = (uint8_t)(bits >> (8*j));
    for (size_t b = 0; b < nb; b++) F(s, blk + 64*b);
    for (int j = 0; j < 8; j++) { k[4*j]=s[j]>>24; k[4*j+1]=s[j]>>16; k[4*j+2]=s[j]>>8; k[4*j+3]=s[j]; }
  } else memcpy(k, key, keylen);
  uint8_t pad[64]; uint32_t is[8], os[8];
  for (int j = 0; j < 64; j++) pad[j] = k[j] ^ 0x36;
  memcpy(is, IV, 32); F(is, pad);
  for (int j = 0; j < 64; j++) pad[j] = k[j] ^ 0x5c;
  memcpy(os, IV, 32); F(os, pad);
  uint8_t ob[64]; memset(ob, 0, 64); ob[32] = 0x80; ob[62] = 0x03; /* (64+32)*8 = 768 bits */
  size_t i = 0;
  if (use_ni) {
    uint8_t ba[64], bb[64], oa[64], obb[64];
    memcpy(oa, ob, 64); memcpy(obb, ob, 64);
    while (i + 1 < n) {
      size_t La = (size_t)(off[i+1] - off[i]), Lb = (size_t)(off[i+2] - off[i+1]);
      if (La > 55 || Lb > 55) { one_value(F, is, os, data + off[i], La, ob, out + 26*i); i++; continue; }
      memset(ba, 0, 64); memcpy(ba, data + off[i], La); ba[La] = 0x80;
      memset(bb, 0, 64); memcpy(bb, data + off[i+1], Lb); bb[Lb] = 0x80;
      uint64_t bits_a = (uint64_t)(64 + La) * 8, bits_b = (uint64_t)(64 + Lb) * 8;
      for (int j = 0; j < 8; j++) { ba[63 - j] = (uint8_t)(bits_a >> (8*j)); bb[63 - j] = (uint8_t)(bits_b >> (8*j)); }
      uint32_t sa[8], sb[8]; memcpy(sa, is, 32); memcpy(sb, is, 32);
      compress_ni_x2(sa, ba, sb, bb);
      store_be(oa, sa); store_be(obb, sb);
      memcpy(sa, os, 32); memcpy(sb, os, 32);
      compress_ni_x2(sa, oa, sb, obb);
      emit_b32(sa, out + 26*i); emit_b32(sb, out + 26*(i+1));
      i += 2;
    }
  }
  for (; i < n; i++) one_value(F, is, os, data + off[i], (size_t)(off[i+1] - off[i]), ob, out + 26*i);
}
"""


def _cache_dir() -> Path:
    return settings.native_cache_dir()


def _module_name() -> str:
    tag = hashlib.sha256(
        (_SOURCE + _CDEF + sys.version + platform.machine()).encode("utf-8")
    ).hexdigest()[:16]
    return f"_deid_hmac_{tag}"


def _import(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the compiler (it writes to the process's file descriptors 1 and 2)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _compile(cache: Path, name: str) -> Path:
    import cffi

    cache.mkdir(parents=True, exist_ok=True)
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    ffi.set_source(name, _SOURCE, extra_compile_args=["-O3", "-w"])
    tmp = Path(tempfile.mkdtemp(prefix=name, dir=cache))
    try:
        with _quiet():
            built = Path(ffi.compile(tmpdir=str(tmp), verbose=False))
        target = cache / built.name
        os.replace(built, target)  # atomic: concurrent builders agree on the result
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@lru_cache(maxsize=1)
def load() -> Any | None:
    """The compiled module (``.ffi``, ``.lib``), or None if native code is unavailable."""
    if not settings.native_enabled():
        return None
    name = _module_name()
    cache = _cache_dir()
    try:
        found = sorted(cache.glob(f"{name}*.so")) if cache.is_dir() else []
        path = found[0] if found else _compile(cache, name)
        return _import(path, name)
    except Exception:
        return None


def available() -> bool:
    return load() is not None


def hmac_b32(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], key: bytes
) -> NDArray[np.uint8] | None:
    """Pseudonyms of the values ``data[offsets[i]:offsets[i+1]]``: shape (n, 26) uint8."""
    module = load()
    if module is None:
        return None
    ffi, lib = module.ffi, module.lib
    n = len(offsets) - 1
    out = np.empty((n, 26), dtype=np.uint8)
    if n == 0:
        return out
    data = np.ascontiguousarray(data) if len(data) else np.zeros(1, dtype=np.uint8)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    lib.deid_hmac_b32(
        key,
        len(key),
        ffi.from_buffer("uint8_t[]", data),
        ffi.from_buffer("int64_t[]", offsets),
        n,
        ffi.from_buffer("uint8_t[]", out, require_writable=True),
        int(lib.deid_has_shani()),
    )
    return out

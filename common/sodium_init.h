// Makes sure libsodium is initialised before its first use, so crypto types in
// common/ (SecretKey, ChunkHasher, Sealer, key files) need no set-up by callers.
// Cheap after the first call; safe from any thread.
//
//   EnsureSodiumInitialized();  // then any crypto_* / randombytes_* call
#ifndef CAIRN_COMMON_SODIUM_INIT_H_
#define CAIRN_COMMON_SODIUM_INIT_H_

namespace cairn {

// Calls sodium_init() exactly once per process. Aborts if libsodium cannot
// initialise (no usable randomness source): nothing in cairn is safe without it.
void EnsureSodiumInitialized();

}  // namespace cairn

#endif  // CAIRN_COMMON_SODIUM_INIT_H_

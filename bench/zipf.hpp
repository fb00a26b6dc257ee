// bench/zipf.hpp: YCSB's key choosers. Zipfian over n items with constant theta (0.99 in
// YCSB) by Gray et al.'s method ("Quickly generating billion-record synthetic
// databases", SIGMOD 1994), which YCSB's ZipfianGenerator uses, then scrambled as YCSB's
// ScrambledZipfianGenerator does: the popular ranks are hashed to spots all over the key
// space, so hot keys do not sit in neighbouring slots. Uniform: every item alike.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <xxhash.h>

namespace shmtable::bench {

class Zipfian {
public:
  Zipfian(std::uint64_t n, double theta) : n_(n) {
    for (std::uint64_t i = 1; i <= n; ++i) { // zeta(n, theta): O(n) once, before timing
      zetan_ += 1.0 / std::pow(static_cast<double>(i), theta);
    }
    const double zeta2 = 1.0 + 1.0 / std::pow(2.0, theta);
    alpha_ = 1.0 / (1.0 - theta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan_);
    half_pow_ = 1.0 + std::pow(0.5, theta);
  }

  // A rank in [0, n): 0 the most popular.
  template <class Rng> std::uint64_t rank(Rng &rng) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const double uz = u * zetan_;
    if (uz < 1.0) {
      return 0;
    }
    if (uz < half_pow_) {
      return 1;
    }
    const auto r = static_cast<std::uint64_t>(static_cast<double>(n_) *
                                              std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return r < n_ ? r : n_ - 1;
  }

  // A key index in [0, n): the rank, scrambled by a hash.
  template <class Rng> std::uint64_t next(Rng &rng) {
    const std::uint64_t r = rank(rng);
    return XXH64(&r, sizeof r, 0x9e3779b97f4a7c15ULL) % n_;
  }

private:
  std::uint64_t n_;
  double zetan_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
  double half_pow_ = 0;
};

} // namespace shmtable::bench

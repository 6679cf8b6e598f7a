// SR-GNN's readout (gnn/models/srgnn.py, eqs. 6-7) over (readout, member) pairs, forward and backward, without the
// [pairs, d] activations that eager PyTorch writes and reads back several times per pass. Built on first use by
// gnn/models/fused_readout.py; the eager code in srgnn.py is the reference, and the tests compare the two.
//
//   energy[m] = sum_k q[k] * sigmoid(A[owner[m], k] + N[member[m], k])   (A = W1 v_n, N = W2 v_i + c)
//   pooled[g] = sum_{m : owner[m] = g} alpha[m] * S[member[m]]
//
// Reductions into rows that several pairs share go to one buffer per thread, summed at the end, so the result
// does not depend on how at::parallel_for splits the pairs beyond float rounding.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cmath>
#include <vector>

// The logistic function with its argument clamped to +-80: exp(80) is finite in float, so s * (1 - s) never becomes
// inf / inf under -ffast-math (which assumes no infinities), and sigmoid(+-80) is 0 or 1 to float and double
// precision alike, so the clamp changes nothing else.
template <typename T>
static inline T sigm(T x) {
  x = x > T(80) ? T(80) : (x < T(-80) ? T(-80) : x);
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
static void energy_fwd_kernel(const T* qp, const T* ap, const T* np, const int64_t* op, const int64_t* mp, T* outp, int64_t M, int64_t d) {
  at::parallel_for(0, M, 4096, [&](int64_t begin, int64_t end) {
    // The terms go to a row first: with the sum in the same loop GCC's vector code ran at scalar speed (4x slower
    // than the backward pass, which has no reduction).
    std::vector<T> terms(d);
    T* term = terms.data();
    for (int64_t m = begin; m < end; ++m) {
      const T* a = ap + op[m] * d;
      const T* n = np + mp[m] * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) term[k] = qp[k] * sigm(a[k] + n[k]);
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < d; ++k) acc += term[k];
      outp[m] = acc;
    }
  });
}

template <typename T>
static void energy_bwd_kernel(const T* gp, const T* qp, const T* ap, const T* np, const int64_t* op, const int64_t* mp,
                              T* gAp, T* gNp, T* gqp, int64_t M, int64_t d, int64_t G, int64_t Nn) {
  at::parallel_for(0, M, 4096, [&](int64_t begin, int64_t end) {
    int64_t t = at::get_thread_num();
    T* ga = gAp + t * G * d;
    T* gn = gNp + t * Nn * d;
    T* gqq = gqp + t * d;
    for (int64_t m = begin; m < end; ++m) {
      const T g = gp[m];
      if (g == 0) continue;
      const T* a = ap + op[m] * d;
      const T* n = np + mp[m] * d;
      T* gam = ga + op[m] * d;
      T* gnm = gn + mp[m] * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) {
        T s = sigm(a[k] + n[k]);
        T dx = g * qp[k] * s * (T(1) - s);
        gam[k] += dx;
        gnm[k] += dx;
        gqq[k] += g * s;
      }
    }
  });
}

template <typename T>
static void pool_fwd_kernel(const T* al, const T* sp, const int64_t* op, const int64_t* mp, T* outp, int64_t M, int64_t d, int64_t G) {
  at::parallel_for(0, M, 4096, [&](int64_t begin, int64_t end) {
    T* o = outp + at::get_thread_num() * G * d;
    for (int64_t m = begin; m < end; ++m) {
      const T w = al[m];
      const T* s = sp + mp[m] * d;
      T* om = o + op[m] * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) om[k] += w * s[k];
    }
  });
}

template <typename T>
static void pool_bwd_kernel(const T* gp, const T* al, const T* sp, const int64_t* op, const int64_t* mp, T* gap, T* gSp,
                            int64_t M, int64_t d, int64_t Nn) {
  at::parallel_for(0, M, 4096, [&](int64_t begin, int64_t end) {
    T* gs = gSp + at::get_thread_num() * Nn * d;
    for (int64_t m = begin; m < end; ++m) {
      const T* g = gp + op[m] * d;
      const T* s = sp + mp[m] * d;
      T* gsm = gs + mp[m] * d;
      const T w = al[m];
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < d; ++k) {
        acc += g[k] * s[k];
        gsm[k] += w * g[k];
      }
      gap[m] = acc;
    }
  });
}

static void check_pairs(const torch::Tensor& owner, const torch::Tensor& member) {
  TORCH_CHECK(owner.scalar_type() == torch::kLong && member.scalar_type() == torch::kLong, "indices must be int64");
  TORCH_CHECK(owner.is_contiguous() && member.is_contiguous(), "indices must be contiguous");
  TORCH_CHECK(owner.numel() == member.numel(), "owner and member differ in length");
}

static void check_bounds(const torch::Tensor& index, int64_t rows, const char* name) {
  if (index.numel() > 0) {
    TORCH_CHECK(index.min().item<int64_t>() >= 0 && index.max().item<int64_t>() < rows, name, " index out of range");
  }
}

static void check_rows(const torch::Tensor& rows) {
  TORCH_CHECK(rows.device().is_cpu() && rows.dim() == 2 && rows.is_contiguous(), "rows must be contiguous 2-d CPU tensors");
}

torch::Tensor energy_forward(torch::Tensor q, torch::Tensor A, torch::Tensor N, torch::Tensor owner, torch::Tensor member) {
  check_pairs(owner, member);
  check_rows(A);
  check_rows(N);
  TORCH_CHECK(q.is_contiguous() && q.numel() == A.size(1) && N.size(1) == A.size(1), "widths differ");
  check_bounds(owner, A.size(0), "owner");
  check_bounds(member, N.size(0), "member");
  auto out = torch::empty({owner.size(0)}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "energy_forward", [&] {
    energy_fwd_kernel<scalar_t>(q.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(), N.data_ptr<scalar_t>(), owner.data_ptr<int64_t>(),
                                member.data_ptr<int64_t>(), out.data_ptr<scalar_t>(), owner.size(0), A.size(1));
  });
  return out;
}

std::vector<torch::Tensor> energy_backward(torch::Tensor grad, torch::Tensor q, torch::Tensor A, torch::Tensor N, torch::Tensor owner, torch::Tensor member) {
  TORCH_CHECK(grad.is_contiguous() && grad.numel() == owner.numel() && grad.scalar_type() == A.scalar_type(),
              "one gradient per pair");
  int64_t threads = at::get_num_threads();
  auto gA = torch::zeros({threads, A.size(0), A.size(1)}, A.options());
  auto gN = torch::zeros({threads, N.size(0), A.size(1)}, A.options());
  auto gq = torch::zeros({threads, A.size(1)}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "energy_backward", [&] {
    energy_bwd_kernel<scalar_t>(grad.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(), N.data_ptr<scalar_t>(),
                                owner.data_ptr<int64_t>(), member.data_ptr<int64_t>(), gA.data_ptr<scalar_t>(), gN.data_ptr<scalar_t>(),
                                gq.data_ptr<scalar_t>(), owner.size(0), A.size(1), A.size(0), N.size(0));
  });
  return {gq.sum(0), gA.sum(0), gN.sum(0)};
}

torch::Tensor pool_forward(torch::Tensor alpha, torch::Tensor S, torch::Tensor owner, torch::Tensor member, int64_t G) {
  check_pairs(owner, member);
  check_rows(S);
  TORCH_CHECK(alpha.is_contiguous() && alpha.numel() == owner.numel(), "one weight per pair");
  check_bounds(owner, G, "owner");
  check_bounds(member, S.size(0), "member");
  int64_t threads = at::get_num_threads();
  auto out = torch::zeros({threads, G, S.size(1)}, S.options());
  AT_DISPATCH_FLOATING_TYPES(S.scalar_type(), "pool_forward", [&] {
    pool_fwd_kernel<scalar_t>(alpha.data_ptr<scalar_t>(), S.data_ptr<scalar_t>(), owner.data_ptr<int64_t>(), member.data_ptr<int64_t>(),
                              out.data_ptr<scalar_t>(), owner.size(0), S.size(1), G);
  });
  return out.sum(0);
}

std::vector<torch::Tensor> pool_backward(torch::Tensor grad, torch::Tensor alpha, torch::Tensor S, torch::Tensor owner, torch::Tensor member) {
  TORCH_CHECK(grad.is_contiguous() && grad.dim() == 2 && grad.size(1) == S.size(1) && grad.scalar_type() == S.scalar_type(),
              "one gradient row per readout");
  int64_t threads = at::get_num_threads();
  auto galpha = torch::empty({owner.size(0)}, S.options());
  auto gS = torch::zeros({threads, S.size(0), S.size(1)}, S.options());
  AT_DISPATCH_FLOATING_TYPES(S.scalar_type(), "pool_backward", [&] {
    pool_bwd_kernel<scalar_t>(grad.data_ptr<scalar_t>(), alpha.data_ptr<scalar_t>(), S.data_ptr<scalar_t>(), owner.data_ptr<int64_t>(),
                              member.data_ptr<int64_t>(), galpha.data_ptr<scalar_t>(), gS.data_ptr<scalar_t>(), owner.size(0), S.size(1), S.size(0));
  });
  return {galpha, gS.sum(0)};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("energy_forward", &energy_forward);
  m.def("energy_backward", &energy_backward);
  m.def("pool_forward", &pool_forward);
  m.def("pool_backward", &pool_backward);
}

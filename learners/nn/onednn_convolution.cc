// 2-D convolutions by oneDNN as XLA FFI handlers for XLA:CPU: NHWC activations, HWIO kernels, float32.
// Built on first use by nevis/learners/nn/onednn_convolution.py against the oneDNN of the `onednn` extra and the
// XLA FFI headers that jaxlib ships. Each handler is one oneDNN primitive (plus a reorder of the small kernel
// into the blocked layout oneDNN picked for these shapes); primitives are built once per shape and kept.
// Scratchpads are this file's (oneDNN's user mode), one per thread: a oneDNN built without
// DNNL_ENABLE_CONCURRENT_EXEC shares its own between primitives, and XLA may run two handlers at once (two
// trials trained on threads); with a shared one their results were wrong.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// (batch, height, width, in channels, kernel height, kernel width, out channels, stride, padding t/l/b/r)
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t>;

struct Convolution {
  memory::desc input, kernel, output;  // as XLA lays them out: nhwc, hwio, nhwc
  dnnl::convolution_forward::primitive_desc forward_desc;
  dnnl::convolution_backward_data::primitive_desc backward_data_desc;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_desc;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
  dnnl::reorder kernel_for_forward, kernel_for_backward_data, kernel_gradient_to_hwio;
  memory::desc scratch_for_forward, scratch_for_backward_data, scratch_to_hwio;  // the reorders' scratchpads
};

std::mutex cache_mutex;
std::map<Key, std::unique_ptr<Convolution>> cache;

memory::dim OutputSize(memory::dim size, memory::dim kernel, memory::dim stride, memory::dim low, memory::dim high) {
  return (size + low + high - kernel) / stride + 1;
}

const Convolution& Get(ffi::Span<const int64_t> x, ffi::Span<const int64_t> k, int64_t stride, int64_t top,
                       int64_t left, int64_t bottom, int64_t right) {
  Key key{x[0], x[1], x[2], x[3], k[0], k[1], k[3], stride, top, left, bottom, right};
  std::lock_guard<std::mutex> lock(cache_mutex);
  auto found = cache.find(key);
  if (found != cache.end()) return *found->second;
  auto c = std::make_unique<Convolution>();
  memory::dim height = OutputSize(x[1], k[0], stride, top, bottom), width = OutputSize(x[2], k[1], stride, left, right);
  c->input = memory::desc({x[0], x[3], x[1], x[2]}, memory::data_type::f32, Tag::nhwc);
  c->output = memory::desc({x[0], k[3], height, width}, memory::data_type::f32, Tag::nhwc);
  c->kernel = memory::desc({k[3], k[2], k[0], k[1]}, memory::data_type::f32, Tag::hwio);
  memory::desc any_kernel({k[3], k[2], k[0], k[1]}, memory::data_type::f32, Tag::any);
  memory::dims strides{stride, stride}, low{top, left}, high{bottom, right};
  auto direct = dnnl::algorithm::convolution_direct;
  dnnl::primitive_attr user;
  user.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  c->forward_desc = dnnl::convolution_forward::primitive_desc(Engine(), dnnl::prop_kind::forward_training, direct,
                                                              c->input, any_kernel, c->output, strides, low, high, user);
  c->backward_data_desc = dnnl::convolution_backward_data::primitive_desc(
      Engine(), direct, c->input, any_kernel, c->output, strides, low, high, c->forward_desc, user);
  c->backward_weights_desc = dnnl::convolution_backward_weights::primitive_desc(
      Engine(), direct, c->input, any_kernel, c->output, strides, low, high, c->forward_desc, user);
  c->forward = dnnl::convolution_forward(c->forward_desc);
  c->backward_data = dnnl::convolution_backward_data(c->backward_data_desc);
  c->backward_weights = dnnl::convolution_backward_weights(c->backward_weights_desc);
  dnnl::reorder::primitive_desc to_forward(Engine(), c->kernel, Engine(), c->forward_desc.weights_desc(), user);
  dnnl::reorder::primitive_desc to_backward_data(Engine(), c->kernel, Engine(), c->backward_data_desc.weights_desc(),
                                                 user);
  dnnl::reorder::primitive_desc to_hwio(Engine(), c->backward_weights_desc.diff_weights_desc(), Engine(), c->kernel,
                                        user);
  c->kernel_for_forward = dnnl::reorder(to_forward);
  c->kernel_for_backward_data = dnnl::reorder(to_backward_data);
  c->kernel_gradient_to_hwio = dnnl::reorder(to_hwio);
  c->scratch_for_forward = to_forward.scratchpad_desc();
  c->scratch_for_backward_data = to_backward_data.scratchpad_desc();
  c->scratch_to_hwio = to_hwio.scratchpad_desc();
  const Convolution& made = *c;
  cache.emplace(key, std::move(c));
  return made;
}

// Buffers per thread (XLA may run handlers on several threads at once): 0 the kernel in oneDNN's layout, 1 the
// scratchpad.
memory Buffer(int slot, const memory::desc& desc) {
  thread_local std::vector<char> buffers[2];
  std::vector<char>& buffer = buffers[slot];
  if (buffer.size() < desc.get_size()) buffer.resize(desc.get_size());
  return memory(desc, Engine(), buffer.data());
}

// Runs `primitive` with `arguments` and its scratchpad (of `desc`).
void Execute(const dnnl::primitive& primitive, dnnl::stream& stream, std::unordered_map<int, memory> arguments,
             const memory::desc& scratchpad) {
  arguments.insert({DNNL_ARG_SCRATCHPAD, Buffer(1, scratchpad)});
  primitive.execute(stream, arguments);
}

void Reorder(const dnnl::reorder& reorder, dnnl::stream& stream, const memory& from, const memory& to,
             const memory::desc& scratchpad) {
  Execute(reorder, stream, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, scratchpad);
}

template <typename Body>
ffi::Error Run(Body body) {
  try {
    dnnl::stream stream(Engine());
    body(stream);
    stream.wait();
    return ffi::Error::Success();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN: ") + e.what());
  }
}

ffi::Error Forward(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> k, ffi::ResultBuffer<ffi::F32> y, int64_t stride,
                   int64_t top, int64_t left, int64_t bottom, int64_t right) {
  return Run([&](dnnl::stream& stream) {
    const Convolution& c = Get(x.dimensions(), k.dimensions(), stride, top, left, bottom, right);
    memory kernel(c.kernel, Engine(), k.typed_data()), blocked = Buffer(0, c.forward_desc.weights_desc());
    Reorder(c.kernel_for_forward, stream, kernel, blocked, c.scratch_for_forward);
    memory input(c.input, Engine(), x.typed_data()), output(c.output, Engine(), y->typed_data());
    Execute(c.forward, stream, {{DNNL_ARG_SRC, input}, {DNNL_ARG_WEIGHTS, blocked}, {DNNL_ARG_DST, output}},
            c.forward_desc.scratchpad_desc());
  });
}

ffi::Error BackwardData(ffi::Buffer<ffi::F32> dy, ffi::Buffer<ffi::F32> k, ffi::ResultBuffer<ffi::F32> dx,
                        int64_t stride, int64_t top, int64_t left, int64_t bottom, int64_t right) {
  return Run([&](dnnl::stream& stream) {
    const Convolution& c = Get(dx->dimensions(), k.dimensions(), stride, top, left, bottom, right);
    memory kernel(c.kernel, Engine(), k.typed_data()), blocked = Buffer(0, c.backward_data_desc.weights_desc());
    Reorder(c.kernel_for_backward_data, stream, kernel, blocked, c.scratch_for_backward_data);
    memory output_gradient(c.output, Engine(), dy.typed_data()), input_gradient(c.input, Engine(), dx->typed_data());
    Execute(c.backward_data, stream, {{DNNL_ARG_DIFF_DST, output_gradient}, {DNNL_ARG_WEIGHTS, blocked},
                                      {DNNL_ARG_DIFF_SRC, input_gradient}}, c.backward_data_desc.scratchpad_desc());
  });
}

ffi::Error BackwardWeights(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> dy, ffi::ResultBuffer<ffi::F32> dk,
                           int64_t stride, int64_t top, int64_t left, int64_t bottom, int64_t right) {
  return Run([&](dnnl::stream& stream) {
    const Convolution& c = Get(x.dimensions(), dk->dimensions(), stride, top, left, bottom, right);
    memory input(c.input, Engine(), x.typed_data()), output_gradient(c.output, Engine(), dy.typed_data());
    memory blocked = Buffer(0, c.backward_weights_desc.diff_weights_desc());
    memory kernel_gradient(c.kernel, Engine(), dk->typed_data());
    Execute(c.backward_weights, stream, {{DNNL_ARG_SRC, input}, {DNNL_ARG_DIFF_DST, output_gradient},
                                         {DNNL_ARG_DIFF_WEIGHTS, blocked}}, c.backward_weights_desc.scratchpad_desc());
    Reorder(c.kernel_gradient_to_hwio, stream, blocked, kernel_gradient, c.scratch_to_hwio);
  });
}

}  // namespace

#define NEVIS_BINDING()                                                                        \
  ffi::Ffi::Bind().Arg<ffi::Buffer<ffi::F32>>().Arg<ffi::Buffer<ffi::F32>>().Ret<ffi::Buffer<ffi::F32>>()   \
      .Attr<int64_t>("stride").Attr<int64_t>("top").Attr<int64_t>("left").Attr<int64_t>("bottom")         \
      .Attr<int64_t>("right")

XLA_FFI_DEFINE_HANDLER_SYMBOL(NevisOnednnConvolutionForward, Forward, NEVIS_BINDING());
XLA_FFI_DEFINE_HANDLER_SYMBOL(NevisOnednnConvolutionBackwardData, BackwardData, NEVIS_BINDING());
XLA_FFI_DEFINE_HANDLER_SYMBOL(NevisOnednnConvolutionBackwardWeights, BackwardWeights, NEVIS_BINDING());

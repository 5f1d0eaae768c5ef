#include "spire/Codegen/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "SizeSymbols.h"
#include "spire/Codegen/Passes.h"

using namespace mlir;

namespace spire {

// Vulkan guarantees at least 65535 workgroups per grid dimension.
static constexpr int64_t kMaxGridX = 65535;

KernelBuilder::KernelBuilder(ModuleOp container, StringRef name, unsigned numBuffers,
                             Location loc, const TileConfig &tiles)
    : builder_(container.getContext()), loc_(loc), name_(name.str()), tiles_(tiles) {
  builder_.setInsertionPointToEnd(container.getBody());
  module_ = gpu::GPUModuleOp::create(builder_, loc, name);
  builder_.setInsertionPointToStart(module_.getBody());
  Type buffer = MemRefType::get({ShapedType::kDynamic}, builder_.getF32Type());
  SmallVector<Type> args(numBuffers, buffer);
  func_ = gpu::GPUFuncOp::create(builder_, loc, "main", builder_.getFunctionType(args, {}));
  func_->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder_.getUnitAttr());
  setWorkgroupSize(tiles.workgroupSize);
  builder_.setInsertionPointToStart(&func_.getBody().front());
  // The terminator goes in first; everything else is inserted before it.
  auto ret = gpu::ReturnOp::create(builder_, loc);
  builder_.setInsertionPoint(ret);
}

void KernelBuilder::setWorkgroupSize(int64_t size) {
  workgroupSize_ = size;
  func_->setAttr(spirv::getEntryPointABIAttrName(),
                 spirv::getEntryPointABIAttr(builder_.getContext(),
                                             {static_cast<int32_t>(size), 1, 1}));
}

Value KernelBuilder::atEntry(Value &cached, llvm::function_ref<Value()> make) {
  if (!cached) {
    OpBuilder::InsertionGuard guard(builder_);
    builder_.setInsertionPointToStart(&func_.getBody().front());
    cached = make();
  }
  return cached;
}

Value KernelBuilder::constant(TypedAttr value) {
  return atEntry(constants_[value], [&] { return arith::ConstantOp::create(builder_, loc_, value); });
}

template <typename OpT, typename... Args> Value KernelBuilder::folded(Args &&...args) {
  Operation *op = OpT::create(builder_, loc_, std::forward<Args>(args)...);
  SmallVector<OpFoldResult, 1> results;
  if (failed(op->fold(results)) || results.empty()) // no fold, or folded in place
    return op->getResult(0);
  op->erase();
  if (auto value = llvm::dyn_cast<Value>(results.front()))
    return value;
  return constant(llvm::cast<TypedAttr>(llvm::cast<Attribute>(results.front())));
}

Value KernelBuilder::idx(int64_t v) { return constant(builder_.getIndexAttr(v)); }
Value KernelBuilder::add(Value a, Value b) { return folded<arith::AddIOp>(a, b); }
Value KernelBuilder::sub(Value a, Value b) { return folded<arith::SubIOp>(a, b); }
Value KernelBuilder::mul(Value a, Value b) { return folded<arith::MulIOp>(a, b); }
Value KernelBuilder::div(Value a, int64_t b) { return folded<arith::DivUIOp>(a, idx(b)); }
Value KernelBuilder::rem(Value a, int64_t b) { return folded<arith::RemUIOp>(a, idx(b)); }
Value KernelBuilder::div(Value a, Value b) { return folded<arith::DivUIOp>(a, b); }
Value KernelBuilder::rem(Value a, Value b) { return folded<arith::RemUIOp>(a, b); }
Value KernelBuilder::lt(Value a, Value b) {
  return folded<arith::CmpIOp>(arith::CmpIPredicate::slt, a, b);
}
Value KernelBuilder::ge(Value a, int64_t b) {
  return folded<arith::CmpIOp>(arith::CmpIPredicate::sge, a, idx(b));
}
Value KernelBuilder::both(Value a, Value b) { return folded<arith::AndIOp>(a, b); }
Value KernelBuilder::clamp(Value a, int64_t lo, int64_t hi) {
  return folded<arith::MinSIOp>(folded<arith::MaxSIOp>(a, idx(lo)), idx(hi));
}
Value KernelBuilder::clamp(Value a, int64_t lo, Value hi) {
  return folded<arith::MinSIOp>(folded<arith::MaxSIOp>(a, idx(lo)), hi);
}

Value KernelBuilder::f32(double v) { return constant(builder_.getF32FloatAttr(v)); }
Value KernelBuilder::fadd(Value a, Value b) { return arith::AddFOp::create(builder_, loc_, a, b); }
Value KernelBuilder::fsub(Value a, Value b) { return arith::SubFOp::create(builder_, loc_, a, b); }
Value KernelBuilder::fmul(Value a, Value b) { return arith::MulFOp::create(builder_, loc_, a, b); }
Value KernelBuilder::fdiv(Value a, Value b) { return arith::DivFOp::create(builder_, loc_, a, b); }
Value KernelBuilder::fgt(Value a, Value b) {
  return arith::CmpFOp::create(builder_, loc_, arith::CmpFPredicate::OGT, a, b);
}
Value KernelBuilder::select(Value c, Value a, Value b) { return folded<arith::SelectOp>(c, a, b); }
// Written as compare + select: PyTorch's max/min semantics for ordinary
// values, and a form every SPIR-V consumer handles the same way.
Value KernelBuilder::fmax(Value a, Value b) { return select(fgt(a, b), a, b); }
Value KernelBuilder::fmin(Value a, Value b) { return select(fgt(a, b), b, a); }
Value KernelBuilder::exp(Value a) { return math::ExpOp::create(builder_, loc_, a); }
Value KernelBuilder::tanh(Value a) { return math::TanhOp::create(builder_, loc_, a); }
Value KernelBuilder::sqrt(Value a) { return math::SqrtOp::create(builder_, loc_, a); }

// GLSL.std.450 has no erf; Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)
// is well inside f32 conformance tolerances.
Value KernelBuilder::erf(Value x) {
  Value ax = select(fgt(x, f32(0)), x, fsub(f32(0), x));
  Value t = fdiv(f32(1), fadd(f32(1), fmul(f32(0.3275911), ax)));
  const double coeffs[] = {1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592};
  Value poly = f32(coeffs[0]);
  for (size_t i = 1; i < 5; ++i)
    poly = fadd(fmul(poly, t), f32(coeffs[i]));
  poly = fmul(poly, t);
  Value y = fsub(f32(1), fmul(poly, exp(fsub(f32(0), fmul(ax, ax)))));
  return select(fgt(x, f32(0)), y, fsub(f32(0), y));
}

Value KernelBuilder::toF32(Value index) {
  Value i32 = arith::IndexCastOp::create(builder_, loc_, builder_.getI32Type(), index);
  return arith::UIToFPOp::create(builder_, loc_, builder_.getF32Type(), i32);
}

Value KernelBuilder::toIndex(Value f) {
  Value i32 = arith::FPToSIOp::create(builder_, loc_, builder_.getI32Type(), f);
  return arith::IndexCastOp::create(builder_, loc_, builder_.getIndexType(), i32);
}

Value KernelBuilder::load(unsigned buffer, Value index) {
  return memref::LoadOp::create(builder_, loc_, func_.getArgument(buffer), index);
}
void KernelBuilder::store(unsigned buffer, Value index, Value value) {
  memref::StoreOp::create(builder_, loc_, value, func_.getArgument(buffer), index);
}

void KernelBuilder::useVectors(unsigned buffer, int64_t width) {
  BlockArgument arg = func_.getArgument(buffer);
  arg.setType(MemRefType::get({ShapedType::kDynamic},
                              VectorType::get({width}, builder_.getF32Type())));
  func_.setType(builder_.getFunctionType(func_.getBody().getArgumentTypes(), {}));
}

SmallVector<Value> KernelBuilder::loadVector(unsigned buffer, Value vectorIndex) {
  Value v = memref::LoadOp::create(builder_, loc_, func_.getArgument(buffer), vectorIndex);
  SmallVector<Value> elements;
  for (int64_t i = 0, n = llvm::cast<VectorType>(v.getType()).getNumElements(); i < n; ++i)
    elements.push_back(vector::ExtractOp::create(builder_, loc_, v, i));
  return elements;
}

void KernelBuilder::storeVector(unsigned buffer, Value vectorIndex, ArrayRef<Value> elements) {
  auto type = VectorType::get({static_cast<int64_t>(elements.size())}, builder_.getF32Type());
  Value v = vector::FromElementsOp::create(builder_, loc_, type, elements);
  memref::StoreOp::create(builder_, loc_, v, func_.getArgument(buffer), vectorIndex);
}

void KernelBuilder::readAsTexels(unsigned buffer) {
  if (!tiles_.texelInputs)
    return;
  texelBuffers_.push_back(static_cast<int32_t>(buffer));
  module_->setAttr(kTexelBindingsAttr, builder_.getDenseI32ArrayAttr(texelBuffers_));
}

SmallVector<int32_t> KernelBuilder::vec4TexelBuffers() const {
  SmallVector<int32_t> vec4;
  gpu::GPUFuncOp func = func_;
  for (int32_t b : texelBuffers_) {
    auto type = llvm::cast<MemRefType>(func.getArgument(b).getType());
    if (auto v = llvm::dyn_cast<VectorType>(type.getElementType()); v && v.getNumElements() == 4)
      vec4.push_back(b);
  }
  return vec4;
}

Value KernelBuilder::laneId() {
  return atEntry(laneId_, [&] { return gpu::LaneIdOp::create(builder_, loc_, IntegerAttr()); });
}

Value KernelBuilder::broadcast(Value v, int64_t lane) {
  subgroupLanesNeeded_ = std::max(subgroupLanesNeeded_, lane + 1);
  // A shuffle with the same lane in every invocation, not OpGroupNonUniform-
  // Broadcast: Mesa's lavapipe turns a broadcast into a search for an active
  // lane (an 8-step branchy loop each), a constant-index shuffle into one
  // vector permute (docs/perf-log/2026-11-23-lavapipe-jit-code.md).
  Value id = spirv::ConstantOp::create(builder_, loc_, builder_.getI32Type(),
                                       builder_.getI32IntegerAttr(lane));
  return spirv::GroupNonUniformShuffleOp::create(builder_, loc_, v.getType(),
                                                 spirv::Scope::Subgroup, v, id);
}

Value KernelBuilder::batch() {
  return atEntry(batch_,
                 [&] { return gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::z); });
}

std::array<uint32_t, 3> KernelBuilder::forEachItem(int64_t items,
                                                   const std::function<void(Value)> &body) {
  int64_t groups = (items + workgroupSize_ - 1) / workgroupSize_;
  int64_t gx = std::min(groups, kMaxGridX);
  int64_t gy = (groups + gx - 1) / gx;
  Value bx = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::y);
  Value tx = gpu::ThreadIdOp::create(builder_, loc_, gpu::Dimension::x);
  Value group = add(mul(by, gx), bx);
  Value item = add(mul(group, workgroupSize_), tx);
  auto inRange = arith::CmpIOp::create(builder_, loc_, arith::CmpIPredicate::ult, item, idx(items));
  ifThen(inRange, [&] { body(item); });
  return {static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), 1};
}

Value KernelBuilder::size(const Dim &d) {
  if (std::optional<int64_t> v = d.value())
    return idx(*v);
  assert(sizes_ && "a symbolic size in a model without spire.sizes");
  std::function<Value(AffineExpr)> value = [&](AffineExpr e) -> Value {
    if (auto c = llvm::dyn_cast<AffineConstantExpr>(e))
      return idx(c.getValue());
    if (auto s = llvm::dyn_cast<AffineSymbolExpr>(e)) {
      unsigned k = *sizes_->indexOf(s.getPosition());
      Value &cached = sizeSymbols_[k];
      return atEntry(cached, [&] {
        auto undef = spirv::UndefOp::create(builder_, loc_, builder_.getI32Type());
        undef->setAttr(kSizeSymbolAttr, builder_.getI64IntegerAttr(k));
        return arith::IndexCastOp::create(builder_, loc_, builder_.getIndexType(), undef);
      });
    }
    auto bin = llvm::cast<AffineBinaryOpExpr>(e);
    Value l = value(bin.getLHS());
    switch (e.getKind()) {
    case AffineExprKind::Add:
      return add(l, value(bin.getRHS()));
    case AffineExprKind::Mul:
      return mul(l, value(bin.getRHS()));
    default: {
      // Unsigned division: right where the dividend is never negative,
      // which sizes that fit their layers are (checked, not assumed).
      int64_t divisor = llvm::cast<AffineConstantExpr>(bin.getRHS()).getValue();
      if (sizes_->min(Dim(bin.getLHS())) < 0)
        fail("divides a size that can be negative in the declared range");
      if (e.getKind() == AffineExprKind::FloorDiv)
        return div(l, divisor);
      if (e.getKind() == AffineExprKind::Mod)
        return rem(l, divisor);
      return div(add(l, divisor - 1), divisor);
    }
    }
  };
  return value(d.expr());
}

Value KernelBuilder::pushConstant(int64_t value) {
  // Kernels index in 32 bits (index lowers to i32), so an offset or size
  // they are given fits.
  assert(value >= 0 && value <= std::numeric_limits<int32_t>::max() &&
         "a push constant is a non-negative 32-bit int");
  // Read through a placeholder that spire-spirv-push-constants turns into a
  // load of the push-constant block (no pass folds an undef).
  Value read;
  atEntry(read, [&] {
    auto undef = spirv::UndefOp::create(builder_, loc_, builder_.getI32Type());
    undef->setAttr(kPushConstantAttr, builder_.getI64IntegerAttr(pushConstants_.size()));
    return arith::IndexCastOp::create(builder_, loc_, builder_.getIndexType(), undef);
  });
  pushConstants_.push_back(value);
  return read;
}

int64_t evenWorkgroupSize(ArrayRef<int64_t> laneCounts, int64_t step, int64_t largest,
                          int64_t smallest) {
  int64_t most = std::max<int64_t>(1, largest / step), least = std::max<int64_t>(1, smallest / step);
  int64_t best = 1, bestIdle = -1;
  for (int64_t size = most; size >= least; --size) {
    int64_t idle = 0;
    for (int64_t lanes : laneCounts) {
      int64_t units = (lanes + step - 1) / step;
      idle += (units + size - 1) / size * size - units;
    }
    if (bestIdle < 0 || idle < bestIdle)
      best = size, bestIdle = idle;
  }
  return best * step;
}

std::array<uint32_t, 3>
KernelBuilder::forEachTile(int64_t groups, int64_t lanes,
                           const std::function<void(Value, Value)> &body) {
  // Workgroups of whole `step`-lane units, sized so the units the lanes
  // need split evenly: an idle lane still computes (it has to, for the
  // subgroup operations), so 196 tiles take 5 workgroups of 40 lanes, not 4
  // of 64 with 7 idle units of 8 (measured: docs/PERFORMANCE.md). Grids past
  // the limit loop over the rest (uniform loops, so every lane of a subgroup
  // stays active).
  // At least half the largest (or what the lanes need, if less), so a
  // GPU's wider subgroups are not left mostly empty.
  int64_t step = tiles_.broadcastLanes;
  int64_t units = (lanes + step - 1) / step, most = std::max<int64_t>(1, workgroupSize_ / step);
  setWorkgroupSize(
      evenWorkgroupSize({lanes}, step, workgroupSize_, std::min(units, (most + 1) / 2) * step));
  int64_t laneGroups = (lanes + workgroupSize_ - 1) / workgroupSize_;
  int64_t gx = std::min(laneGroups, kMaxGridX), gy = std::min(groups, kMaxGridX);
  int64_t sx = (laneGroups + gx - 1) / gx, sy = (groups + gy - 1) / gy;
  Value by = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::y);
  Value bx = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::x);
  Value tx = gpu::ThreadIdOp::create(builder_, loc_, gpu::Dimension::x);
  auto overGroups = [&](Value lane) {
    if (sy == 1)
      return body(by, lane);
    loop(0, sy, {}, [&](Value i, ValueRange) {
      Value group = add(by, mul(i, gy));
      ifThen(lt(group, idx(groups)), [&] { body(group, lane); });
      return SmallVector<Value>{};
    });
  };
  if (sx == 1)
    overGroups(add(mul(bx, workgroupSize_), tx));
  else // the guard is per workgroup; lanes past `lanes` in the last one stay active
    loop(0, sx, {}, [&](Value i, ValueRange) {
      Value laneGroup = add(bx, mul(i, gx));
      ifThen(lt(laneGroup, idx(laneGroups)),
             [&] { overGroups(add(mul(laneGroup, workgroupSize_), tx)); });
      return SmallVector<Value>{};
    });
  return {static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), 1};
}

bool KernelBuilder::alwaysMultipleOf(const Dim &d, int64_t m) const {
  if (std::optional<int64_t> v = d.value())
    return *v % m == 0;
  return sizes_->alwaysMultipleOf(d, m);
}

std::array<uint32_t, 3>
KernelBuilder::forEachItem(const Dim &items, const std::function<void(Value)> &body) {
  if (std::optional<int64_t> n = items.value())
    return forEachItem(*n, body);
  int64_t most = sizes_->max(items);
  if ((most + workgroupSize_ - 1) / workgroupSize_ > kMaxGridX)
    fail("needs more workgroups than one grid dimension holds at the declared range's maximum");
  Value bx = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::x);
  Value tx = gpu::ThreadIdOp::create(builder_, loc_, gpu::Dimension::x);
  Value item = add(mul(bx, workgroupSize_), tx);
  ifThen(lt(item, size(items)), [&] { body(item); });
  MLIRContext *ctx = builder_.getContext();
  gridSizes_ = {items.ceilDiv(workgroupSize_), Dim::constant(ctx, 1), Dim::constant(ctx, 1)};
  return {static_cast<uint32_t>((most + workgroupSize_ - 1) / workgroupSize_), 1, 1};
}

std::array<uint32_t, 3>
KernelBuilder::forEachTile(int64_t groups, const Dim &lanes,
                           const std::function<void(Value, Value)> &body) {
  if (std::optional<int64_t> n = lanes.value())
    return forEachTile(groups, *n, body);
  // Workgroups that suit every size of the range, not only the largest: a
  // layer with 64 lanes at 512x512 has 14 at 224x224, and a 64-lane
  // workgroup would compute 50 idle lanes there (ResNet-18's layer3 ran
  // 3.7x its fixed bundle's time). One grid step along x and y.
  int64_t most = sizes_->max(lanes);
  std::optional<std::vector<int64_t>> counts = sizes_->values(lanes);
  // Down to one unit: the smallest sizes of a range may need that few.
  setWorkgroupSize(counts ? evenWorkgroupSize(*counts, tiles_.broadcastLanes, workgroupSize_,
                                              tiles_.broadcastLanes)
                          : tiles_.broadcastLanes);
  if ((most + workgroupSize_ - 1) / workgroupSize_ > kMaxGridX || groups > kMaxGridX)
    fail("needs more workgroups than one grid dimension holds at the declared range's maximum");
  Value by = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::y);
  Value bx = gpu::BlockIdOp::create(builder_, loc_, gpu::Dimension::x);
  Value tx = gpu::ThreadIdOp::create(builder_, loc_, gpu::Dimension::x);
  body(by, add(mul(bx, workgroupSize_), tx));
  MLIRContext *ctx = builder_.getContext();
  gridSizes_ = {lanes.ceilDiv(workgroupSize_), Dim::constant(ctx, groups), Dim::constant(ctx, 1)};
  return {static_cast<uint32_t>((most + workgroupSize_ - 1) / workgroupSize_),
          static_cast<uint32_t>(groups), 1};
}

void KernelBuilder::ifThen(Value cond, const std::function<void()> &body) {
  auto ifOp = scf::IfOp::create(builder_, loc_, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(builder_);
  builder_.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

SmallVector<Value> KernelBuilder::loop(
    int64_t lb, int64_t ub, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  Value lower = idx(lb);
  return loopOver(lower, idx(ub), init, body);
}

SmallVector<Value> KernelBuilder::loop(
    int64_t lb, Value upper, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  return loopOver(idx(lb), upper, init, body);
}

SmallVector<Value> KernelBuilder::loopOver(
    Value lower, Value upper, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  Value step = idx(1);
  auto forOp = scf::ForOp::create(
      builder_, loc_, lower, upper, step, init,
      [&](OpBuilder &nested, Location l, Value iv, ValueRange carried) {
        // `nested` is builder_, positioned inside the loop body.
        SmallVector<Value> next = body(iv, carried);
        scf::YieldOp::create(nested, l, next);
      });
  return SmallVector<Value>(forOp.getResults());
}

} // namespace spire

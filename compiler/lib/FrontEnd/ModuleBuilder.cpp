#include "ModuleBuilderImpl.h"

#include "Layers.h"
#include "Params.h"
#include "spire/Dialect/SpireOps.h"
#include "spire/FrontEnd/Spec.h"
#include "spire/Limits.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <climits>
#include <tuple>

using namespace mlir;

namespace spire {

func::FuncOp SpecModule::modelFunc() {
  return *module->getOps<func::FuncOp>().begin();
}

void loadSpecDialects(MLIRContext &context) {
  context.loadDialect<SpireDialect, func::FuncDialect>();
}

namespace frontend {

void ModuleBuilder::checkKeys(const SpecNode &map, llvm::ArrayRef<std::string> allowed,
                              llvm::StringRef what) {
  for (const auto &[key, value] : map.entries) {
    if (llvm::is_contained(allowed, key.scalar))
      continue;
    std::string list;
    for (const std::string &a : allowed)
      list += (list.empty() ? "" : ", ") + a;
    error(key.loc) << "unknown key '" << key.scalar << "' in " << what
                   << didYouMean(key.scalar, allowed) << "; expected one of: " << list;
  }
}

FailureOr<Shape> ModuleBuilder::readShape(const SpecNode &shape, StringRef input) {
  if (!shape.isList() || shape.items.empty()) {
    error(shape.loc) << "input '" << input << "' needs a shape: a list of sizes such as "
                     << "[N, 3, 224, 224], got " << shape.kindName();
    return failure();
  }
  if (static_cast<int64_t>(shape.items.size()) > kMaxRank) {
    error(shape.loc) << "input '" << input << "' has rank " << shape.items.size()
                     << "; bundles hold tensors of rank at most " << kMaxRank;
    return failure();
  }
  Shape out;
  for (auto [i, item] : llvm::enumerate(shape.items)) {
    if (auto v = scalarToInt(item)) {
      if (*v < 1 || *v > kMaxDim) {
        error(item.loc) << "input '" << input << "' has size " << *v << " in dim " << i
                        << "; sizes must be in [1, 2^31)";
        return failure();
      }
      out.push_back(Dim::constant(&ctx_, *v));
      continue;
    }
    const std::string &sym = item.scalar;
    bool identifier = item.isScalar() && !sym.empty() &&
                      (std::isalpha(static_cast<unsigned char>(sym[0])) || sym[0] == '_') &&
                      llvm::all_of(sym, [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                      });
    if (!identifier) {
      error(item.loc) << "input '" << input << "' dim " << i
                      << " must be a size or a size symbol such as N or L, got "
                      << (item.isScalar() ? "'" + sym + "'" : item.kindName());
      return failure();
    }
    if (i > 0) {
      if (auto bound = options_.symbolValues.find(sym); bound != options_.symbolValues.end()) {
        boundSymbolsUsed_.insert(sym);
        if (bound->second < 1 || bound->second > kMaxDim) {
          error(item.loc) << "input '" << input << "' dim " << i << " is " << sym << ", bound to "
                          << bound->second << " by --set; sizes must be in [1, 2^31)";
          return failure();
        }
        out.push_back(Dim::constant(&ctx_, bound->second));
        continue;
      }
    }
    auto it = llvm::find(result_.symbols, sym);
    unsigned pos = it - result_.symbols.begin();
    if (it == result_.symbols.end())
      result_.symbols.push_back(sym);
    out.push_back(Dim(getAffineSymbolExpr(pos, &ctx_)));
  }
  return out;
}

// Whether every input's shape was read (else its symbols are unknown).
bool ModuleBuilder::readInputs(const SpecNode &inputs) {
  if (!inputs.isMap() || inputs.entries.empty()) {
    error(inputs.loc) << "'inputs' must map each input name to its shape, e.g. "
                         "`inputs: {image: [N, 3, 32, 32]}`";
    return false;
  }
  bool allRead = true;
  SmallVector<Type> types;
  SmallVector<Location> locs;
  SmallVector<Shape> shapes;
  std::optional<Dim> batch;
  for (const auto &[key, value] : inputs.entries) {
    const SpecNode *shapeNode = &value;
    if (value.isMap()) {
      checkKeys(value, {"shape", "dtype"}, "input '" + key.scalar + "'");
      if (const SpecNode *dtype = value.get("dtype"); dtype && dtype->scalar != "f32")
        error(dtype->loc) << "input '" << key.scalar << "' has dtype '" << dtype->scalar
                          << "'; this version supports f32";
      shapeNode = value.get("shape");
      if (!shapeNode) {
        error(value.loc) << "input '" << key.scalar << "' needs a 'shape'";
        allRead = false;
        continue;
      }
    }
    FailureOr<Shape> shape = readShape(*shapeNode, key.scalar);
    if (failed(shape)) {
      allRead = false;
      continue;
    }
    if (!batch)
      batch = shape->front();
    else if (!batch->provablyEquals(shape->front()))
      error(shapeNode->loc) << "input '" << key.scalar << "' has batch dim "
                            << toString(shape->front(), result_.symbols)
                            << " but the first input's is "
                            << toString(*batch, result_.symbols)
                            << "; all inputs share dim 0, the batch";
    inputNames_.push_back(key.scalar);
    types.push_back(toTensorType(*shape, builder_.getF32Type()));
    locs.push_back(NameLoc::get(builder_.getStringAttr(key.scalar), loc(key.loc)));
    shapes.push_back(*shape);
  }
  if (batch && !batch->value())
    result_.batchSymbol = static_cast<int>(symbolsOf(*batch).front());

  // A --set for a symbol no input uses is likely a typo.
  for (const auto &[name, value] : options_.symbolValues)
    if (!boundSymbolsUsed_.contains(name))
      error(inputs.loc) << "--set " << name << "=" << value
                        << ": no input has a size symbol '" << name
                        << "' outside the batch dim";

  func_ = func::FuncOp::create(builder_, loc(inputs.loc), "model",
                               builder_.getFunctionType(types, {}));
  Block *entry = func_.addEntryBlock();
  for (auto [i, arg] : llvm::enumerate(entry->getArguments())) {
    arg.setLoc(locs[i]);
    func_.setArgAttr(i, "spire.name", builder_.getStringAttr(inputNames_[i]));
    result_.shapes[arg] = shapes[i];
  }
  return allRead;
}

void ModuleBuilder::readBlocks(const SpecNode &blocks) {
  if (!blocks.isMap()) {
    error(blocks.loc) << "'blocks' must map block names to {params, layers}";
    return;
  }
  for (const auto &[key, value] : blocks.entries) {
    if (lookupLayerKind(key.scalar) || key.scalar == "split") {
      error(key.loc) << "block '" << key.scalar << "' has the name of a built-in layer";
      continue;
    }
    if (!value.isMap()) {
      error(value.loc) << "block '" << key.scalar << "' must be a map with 'layers' (and "
                       << "optional 'params')";
      continue;
    }
    checkKeys(value, {"params", "layers"}, "block '" + key.scalar + "'");
    BlockDef def{&value, value.get("params"), value.get("layers")};
    if (!def.layers || !def.layers->isList()) {
      error(value.loc) << "block '" << key.scalar << "' needs a 'layers' list";
      continue;
    }
    if (def.params && !def.params->isMap()) {
      error(def.params->loc) << "'params' of block '" << key.scalar
                             << "' must map each parameter to its default (~ if required)";
      continue;
    }
    blocks_[key.scalar] = def;
  }
}

std::optional<Tensor> ModuleBuilder::resolve(const std::string &name, const SourceLoc &at,
                                             Scope &scope) {
  for (Scope *s = &scope; s; s = s->parent) {
    if (name == "input" && s->input)
      return s->input;
    auto it = s->names.find(s->prefix + name);
    if (it != s->names.end())
      return it->second;
    if (auto later = s->later.find(name); later != s->later.end()) {
      error(at, &scope) << "'" << name << "' is defined later (line " << later->second.line
                        << "); a layer can only use tensors defined before it";
      return std::nullopt;
    }
  }
  std::vector<std::string> known;
  for (Scope *s = &scope; s; s = s->parent) {
    for (const auto &entry : s->names)
      known.push_back(entry.getKey().drop_front(s->prefix.size()).str());
    if (s->input)
      known.push_back("input");
  }
  error(at, &scope) << "unknown tensor '" << name << "'" << didYouMean(name, known);
  return std::nullopt;
}

void ModuleBuilder::define(Scope &scope, const std::string &localName, Tensor t,
                           const SourceLoc &at) {
  std::string full = scope.prefix + localName;
  if (auto it = scope.names.find(full); it != scope.names.end() ||
                                        llvm::is_contained(inputNames_, full)) {
    auto diag = error(at, &scope);
    diag << "duplicate name '" << full << "'";
    if (it != scope.names.end())
      diag.attachNote(it->second.loc) << "'" << full << "' is first defined here";
    return;
  }
  scope.names.insert({full, t});
  scope.later.erase(localName);
}

// Sizes every layer's output and weights must keep: what a bundle holds and
// kernels index (Limits.h). Checked after each layer, so the next layer's
// shape arithmetic starts from sizes below 2^31 and cannot overflow int64.
LogicalResult ModuleBuilder::checkLimits(Operation *op, const Shape &shape, ShapeContext &sctx) {
  if (static_cast<int64_t>(shape.size()) > kMaxRank) {
    sctx.error() << "produces a tensor of rank " << shape.size()
                 << "; bundles hold tensors of rank at most " << kMaxRank;
    return failure();
  }
  Dim elements = Dim::constant(&ctx_, 1);
  for (const Dim &d : llvm::drop_begin(shape)) {
    bool tooLarge = d.isTooLarge() || (d.value() && *d.value() > kMaxDim);
    if (!tooLarge && d.isKnown() && !d.value() && largestConstant(d) > kMaxDim) {
      sctx.error() << "produces " << sctx.str(shape)
                   << ", a size with a coefficient over 2^31; Spire's kernels index with 32 bits";
      return failure();
    }
    if (tooLarge) {
      sctx.error() << "produces " << sctx.str(shape)
                   << ", a dim over 2^31; Spire's kernels index with 32 bits";
      return failure();
    }
    if (d.value())
      elements = elements * d;
  }
  if (elements.isTooLarge() || *elements.value() > kMaxElements) {
    sctx.error() << "produces " << sctx.str(shape) << " (" << sctx.str(elements)
                 << " elements per sample), over 2^31; Spire's kernels index with 32 bits";
    return failure();
  }
  // Weights: one binding each, so a device must be able to address it.
  for (const ParameterSpec &p : llvm::cast<LayerOpInterface>(op).getParameters()) {
    if (llvm::any_of(p.shape, [](int64_t d) { return d < 1; }))
      continue; // not static: the layer's own check says why
    Dim n = Dim::constant(&ctx_, 4); // bytes per f32
    for (int64_t d : p.shape)
      n = n * Dim::constant(&ctx_, d);
    if (n.isTooLarge() || *n.value() > kMaxBindingBytes) {
      std::string shapeText = "[";
      for (auto [i, d] : llvm::enumerate(p.shape))
        shapeText += (i ? ", " : "") + std::to_string(d);
      sctx.error() << "has a " << p.suffix << " of " << shapeText << "] (" << sctx.str(n)
                   << " bytes); a Vulkan buffer binding addresses at most 4 GiB";
      return failure();
    }
  }
  return success();
}

bool ModuleBuilder::inferAndSet(Operation *op) {
  SmallVector<Shape> operands;
  for (Value v : op->getOperands())
    operands.push_back(result_.shapes.lookup(v));
  ShapeContext sctx(op, std::move(operands), result_.symbols);
  FailureOr<Shape> shape = llvm::cast<LayerOpInterface>(op).inferShape(sctx);
  if (failed(shape)) {
    failed_ = true;
    return false;
  }
  op->getResult(0).setType(toTensorType(*shape, builder_.getF32Type()));
  result_.shapes[op->getResult(0)] = *shape;
  if (failed(checkLimits(op, *shape, sctx))) {
    failed_ = true;
    return false;
  }
  // The type says `?` for a symbolic size; keep its expression readable in
  // `spire check --emit=mlir` (the batch alone needs no note).
  if (llvm::any_of(llvm::drop_begin(*shape), [](const Dim &d) { return !d.value(); }))
    op->setAttr("spire.shape", builder_.getStringAttr(toString(*shape, result_.symbols)));
  return true;
}

void ModuleBuilder::buildOp(const LayerKind &kind, const SpecNode *params, const SourceLoc &at,
                            const std::string &name, Scope &scope, Tensor &current) {
  std::string fullName = scope.prefix + name;
  Params p(params, scope.env, locFn(&scope), kind.name.str() + " '" + fullName + "'");
  // On an error, the layer's output is marked poisoned so later layers that
  // use it are skipped instead of reporting follow-on errors.
  auto poison = [&] {
    failed_ = true;
    Tensor bad{Value(), loc(at, &scope)};
    define(scope, name, bad, at);
    current = bad;
  };

  std::vector<std::string> allowed{"name", "from", "if"};
  for (StringRef k : kind.keys)
    allowed.push_back(k.str());
  if (kind.inputs == LayerKind::Inputs::Join) {
    allowed.push_back("with");
    allowed.push_back("project");
  }
  if (params && params->isMap())
    checkKeys(*params, allowed, kind.name.str() + " '" + fullName + "'");
  else if (params && !params->isNull()) {
    error(params->loc, &scope) << kind.name << " takes a map of keys, got "
                               << params->kindName();
    return poison();
  }

  // Inputs: `from` (or the current tensor), then `with` for joins.
  SmallVector<Tensor> inputs;
  auto fromNames = p.getNames("from");
  if (fromNames.empty())
    inputs.push_back(current);
  for (auto &[n, l] : fromNames)
    if (auto t = resolve(n, l, scope))
      inputs.push_back(*t);
    else
      return poison();
  if (kind.inputs == LayerKind::Inputs::Join) {
    auto with = p.getNames("with");
    if (with.empty() && fromNames.size() < 2) {
      error(at, &scope) << kind.name << " '" << fullName
                        << "' needs 'with': the tensor(s) it joins with the current one";
      return poison();
    }
    if (kind.withCount == 1 && with.size() > 1) {
      error(p.get("with")->loc, &scope) << kind.name << " '" << fullName
                                        << "' joins exactly one tensor, got " << with.size();
      return poison();
    }
    for (auto &[n, l] : with) {
      std::optional<Tensor> t = resolve(n, l, scope);
      if (!t)
        return poison();
      // A projection path transforms the joined tensor first (e.g. the
      // conv1x1 + batchnorm downsample of a ResNet block).
      if (const SpecNode *project = p.get("project")) {
        if (!project->isList()) {
          error(project->loc, &scope) << "'project' must be a list of layers";
          return poison();
        }
        buildLayers(*project, scope, *t);
      }
      inputs.push_back(*t);
    }
    if (kind.withCount == 1 && inputs.size() != 2) {
      error(at, &scope) << kind.name << " '" << fullName << "' joins exactly two tensors, got "
                        << inputs.size();
      return poison();
    }
  } else if (inputs.size() != 1) {
    error(p.get("from")->loc, &scope) << kind.name << " '" << fullName
                                      << "' takes one input, got " << inputs.size();
    return poison();
  }
  if (p.failed())
    return poison();

  Location opLoc = loc(at, &scope);
  bool poisoned = false;
  LayerArgs args{builder_, opLoc, builder_.getStringAttr(fullName), {}, p};
  for (const Tensor &t : inputs) {
    poisoned |= !t.value;
    args.inputs.push_back(t.value);
  }
  Tensor out{Value(), opLoc};
  if (poisoned) {
    // Still check the layer's own keys, on a placeholder input, so one run
    // reports every key error even downstream of a shape error.
    auto placeholder = UnrealizedConversionCastOp::create(
        builder_, opLoc, UnrankedTensorType::get(builder_.getF32Type()), ValueRange{});
    for (Value &v : args.inputs)
      v = placeholder.getResult(0);
    if (Operation *op = kind.build(args))
      op->erase();
    placeholder->erase();
  } else {
    if (Operation *op = kind.build(args)) {
      if (inferAndSet(op)) {
        out.value = op->getResult(0);
        opsByName_[fullName] = op;
      } else {
        op->erase();
      }
    } else {
      failed_ = true;
    }
  }
  define(scope, name, out, at);
  current = out;
}

void ModuleBuilder::buildBlock(const std::string &blockName, const BlockDef &def,
                               const SpecNode *args, const SourceLoc &at,
                               const std::string &name, Scope &scope, Tensor &current) {
  if (blockDepth_ > 16) {
    error(at, &scope) << "block '" << blockName
                      << "' is nested more than 16 deep; is a block using itself?";
    return;
  }
  Params p(args, scope.env, locFn(&scope), "block '" + blockName + "'");
  std::vector<std::string> paramNames;
  if (def.params)
    for (const auto &[k, v] : def.params->entries)
      paramNames.push_back(k.scalar);
  std::vector<std::string> allowed{"name", "from", "if", "repeat", "first"};
  allowed.insert(allowed.end(), paramNames.begin(), paramNames.end());
  if (args && args->isMap())
    checkKeys(*args, allowed, "block '" + blockName + "'");

  int64_t repeat = p.getInt("repeat", 1);
  if (repeat < 1 || repeat > 4096) {
    error(p.get("repeat")->loc, &scope) << "'repeat' must be in [1, 4096], got " << repeat;
    return;
  }
  const SpecNode *first = p.get("first");
  if (first && !first->isMap()) {
    error(first->loc, &scope) << "'first' must map block parameters to the values of "
                                 "the first repetition";
    return;
  }
  if (first)
    checkKeys(*first, paramNames, "'first' of block '" + blockName + "'");
  if (auto from = p.getNames("from"); !from.empty()) {
    auto t = resolve(from.front().first, from.front().second, scope);
    if (!t)
      return;
    current = *t;
  }

  for (int64_t r = 0; r < repeat; ++r) {
    // Parameter values: the block's defaults, the invocation's, then `first`.
    ParamEnv env;
    for (const std::string &param : paramNames) {
      const SpecNode *v = def.params->get(param);
      if (args && args->isMap() && args->get(param))
        v = p.get(param);
      if (r == 0 && first && first->get(param))
        v = Params(first, scope.env, locFn(&scope), "").substitute(first->get(param));
      if (!v || v->isNull()) {
        error(at, &scope) << "block '" << blockName << "' needs parameter '" << param << "'";
        return;
      }
      env[param] = v;
    }
    std::string instance = repeat > 1 ? name + "." + std::to_string(r) : name;
    Scope inner;
    inner.prefix = scope.prefix + instance + ".";
    inner.parent = &scope;
    inner.input = current;
    inner.env = &env;
    inner.callSite = loc(at, &scope);
    ++blockDepth_;
    buildLayers(*def.layers, inner, current);
    --blockDepth_;
    for (const auto &entry : inner.names)
      scope.names.insert({entry.getKey(), entry.getValue()});
    define(scope, instance, current, at);
  }
}

void ModuleBuilder::buildLayer(const SpecNode &item, size_t index, Scope &scope,
                               Tensor &current) {
  // Repeats of repeats can expand a page of YAML into millions of layers.
  if (++layerCount_ > kMaxLayers) {
    if (layerCount_ == kMaxLayers + 1)
      error(item.loc, &scope) << "the spec expands to over " << kMaxLayers
                              << " layers; check the 'repeat' counts";
    return;
  }
  std::string kindName;
  const SpecNode *params = nullptr;
  SourceLoc at = item.loc;
  if (item.isScalar()) {
    kindName = item.scalar;
  } else if (item.isMap() && item.entries.size() == 1) {
    kindName = item.entries.front().first.scalar;
    at = item.entries.front().first.loc;
    params = &item.entries.front().second;
  } else {
    error(item.loc, &scope) << "a layer is written `- kind` or `- kind: {keys}`, got "
                            << (item.isMap() ? "a map with " + std::to_string(item.entries.size()) +
                                                   " keys (indent the layer's keys under its kind)"
                                             : item.kindName());
    return;
  }

  if (kindName == "split") {
    if (blockDepth_ > 0) {
      error(at, &scope) << "a split marker cannot be inside a block; cut inside a block "
                           "with the 'stages' section instead";
      return;
    }
    std::string name = "split" + std::to_string(splits_.size());
    if (params && params->isScalar())
      name = params->scalar;
    else if (params && params->isMap()) {
      checkKeys(*params, {"name"}, "split");
      if (const SpecNode *n = params->get("name"))
        name = n->scalar;
    }
    Operation *after = current.value ? current.value.getDefiningOp() : nullptr;
    addSplit(name, at, after);
    return;
  }

  Params p(params && params->isMap() ? params : nullptr, scope.env, locFn(&scope), kindName);
  if (p.has("if") && !p.getBool("if", true))
    return;
  std::string name = p.getString("name").value_or(std::to_string(index));

  if (const LayerKind *kind = lookupLayerKind(kindName)) {
    buildOp(*kind, params, at, name, scope, current);
    return;
  }
  if (auto it = blocks_.find(kindName); it != blocks_.end()) {
    buildBlock(kindName, it->second, params, at, name, scope, current);
    return;
  }
  std::vector<std::string> known{"split"};
  for (const LayerKind &k : layerKinds())
    known.push_back(k.name.str());
  for (const auto &b : blocks_)
    known.push_back(b.getKey().str());
  error(at, &scope) << "unknown layer '" << kindName << "'" << didYouMean(kindName, known)
                    << "; see specs/README.md for the layer reference";
}

void ModuleBuilder::buildLayers(const SpecNode &list, Scope &scope, Tensor &current) {
  // Names defined later in this list, to report forward references clearly.
  for (const SpecNode &item : list.items)
    if (item.isMap() && item.entries.size() == 1 && item.entries[0].second.isMap())
      if (const SpecNode *n = item.entries[0].second.get("name"))
        scope.later.insert({n->scalar, n->loc});
  size_t index = 0;
  for (const SpecNode &item : list.items)
    buildLayer(item, index++, scope, current);
}

void ModuleBuilder::addSplit(const std::string &name, const SourceLoc &at, Operation *after) {
  for (auto &[op, n] : splits_)
    if (n == name) {
      error(at) << "duplicate split name '" << name << "'";
      return;
    }
  if (!after) {
    error(at) << "split '" << name << "' has no layer before it";
    return;
  }
  OpBuilder::InsertionGuard guard(builder_);
  builder_.setInsertionPointAfter(after);
  Operation *split = SplitOp::create(builder_, loc(at), name);
  splits_.push_back({split, name});
}

void ModuleBuilder::placeStages(const SpecNode &stages) {
  if (!stages.isList()) {
    error(stages.loc) << "'stages' must list split points: `- after: layer2` or "
                         "`- {name: cut1, after: layer3.0.relu}`";
    return;
  }
  Operation *previous = nullptr;
  for (const SpecNode &item : stages.items) {
    const SpecNode *after = item.isMap() ? item.get("after") : nullptr;
    if (item.isMap())
      checkKeys(item, {"after", "name"}, "a split point");
    if (!after || !after->isScalar()) {
      error(item.loc) << "a split point needs 'after: <layer or block name>'";
      continue;
    }
    // The cut goes after the last op of that layer or block instance.
    Operation *last = nullptr;
    std::string prefix = after->scalar + ".";
    for (Operation &op : func_.getBody().front())
      if (layerName(&op) == after->scalar || layerName(&op).starts_with(prefix))
        last = &op;
    if (!last) {
      std::vector<std::string> known;
      for (const auto &e : opsByName_)
        known.push_back(e.getKey().str());
      error(after->loc) << "split point after unknown layer '" << after->scalar << "'"
                        << didYouMean(after->scalar, known);
      continue;
    }
    if (previous && !previous->isBeforeInBlock(last)) {
      error(after->loc) << "split point after '" << after->scalar
                        << "' is not after the previous split point; list them in order";
      continue;
    }
    previous = last;
    const SpecNode *name = item.get("name");
    addSplit(name ? name->scalar : "after_" + after->scalar, after->loc, last);
  }
}

// `placement: [0, 0, 1]`: the default Vulkan device of each stage for
// pipelined runs (`spire run --micro-batches`), one entry per stage.
void ModuleBuilder::readPlacement(const SpecNode &placement) {
  size_t stages = splits_.size() + 1;
  if (!placement.isList() || placement.items.size() != stages) {
    error(placement.loc) << "'placement' must list one device index per stage; the spec has "
                         << stages << " stage(s)"
                         << (placement.isList() ? ", the list has " +
                                                      std::to_string(placement.items.size())
                                                : "");
    return;
  }
  SmallVector<int64_t> devices;
  for (const SpecNode &item : placement.items) {
    std::optional<int64_t> device = scalarToInt(item);
    if (!device || *device < 0 || *device > 255) {
      error(item.loc) << "a device index must be an integer in [0, 255], got "
                      << (item.isScalar() ? "'" + item.scalar + "'" : item.kindName());
      return;
    }
    devices.push_back(*device);
  }
  func_->setAttr("spire.placement", builder_.getDenseI64ArrayAttr(devices));
}

FailureOr<SpecModule> ModuleBuilder::build(const SpecNode &root) {
  if (!root.isMap()) {
    error(root.loc) << "a spec is a map with 'inputs' and 'layers', got " << root.kindName();
    return failure();
  }
  checkKeys(root,
            {"spire", "name", "sizes", "inputs", "blocks", "layers", "outputs", "stages",
             "placement"},
            "the spec");
  if (const SpecNode *version = root.get("spire"); version && version->scalar != "1")
    error(version->loc) << "spec format version '" << version->scalar
                        << "' is not supported; this compiler reads version 1";
  const SpecNode *inputs = root.get("inputs");
  const SpecNode *layers = root.get("layers");
  if (!inputs)
    error(root.loc) << "the spec has no 'inputs'";
  if (!layers || !layers->isList() || layers->items.empty())
    error(layers ? layers->loc : root.loc) << "the spec needs a non-empty 'layers' list";
  if (!inputs || !layers || !layers->isList())
    return failure();

  result_.modelName = llvm::sys::path::stem(path_).str();
  if (const SpecNode *name = root.get("name"))
    result_.modelName = name->scalar;
  result_.module = ModuleOp::create(loc(root.loc));
  builder_.setInsertionPointToEnd(result_.module->getBody());
  const SpecNode *sizes = root.get("sizes");
  if (sizes)
    readSizes(*sizes);
  if (readInputs(*inputs))
    checkSizes();
  // Layers cannot be checked against inputs that are not all known.
  if (!func_ || failed_)
    return failure();
  if (const SpecNode *blocks = root.get("blocks"))
    readBlocks(*blocks);

  builder_.setInsertionPointToEnd(&func_.getBody().front());
  Scope top;
  for (auto [i, arg] : llvm::enumerate(func_.getArguments()))
    top.names.insert({inputNames_[i], Tensor{arg, arg.getLoc()}});
  Tensor current{func_.getArgument(0), func_.getArgument(0).getLoc()};
  buildLayers(*layers, top, current);

  // Outputs: named tensors, or the last layer's output.
  SmallVector<Value> outputs;
  SmallVector<std::string> outputNames;
  if (const SpecNode *outs = root.get("outputs")) {
    Params p(&root, nullptr, locFn(nullptr), "outputs");
    auto names = p.getNames("outputs");
    if (names.empty())
      error(outs->loc) << "'outputs' must name at least one tensor";
    for (auto &[n, l] : names)
      if (auto t = resolve(n, l, top)) {
        outputs.push_back(t->value);
        outputNames.push_back(n);
      }
  } else {
    outputs.push_back(current.value);
    Operation *def = current.value ? current.value.getDefiningOp() : nullptr;
    outputNames.push_back(def ? layerName(def).str() : inputNames_.front());
  }
  if (const SpecNode *stages = root.get("stages"))
    placeStages(*stages);
  if (const SpecNode *placement = root.get("placement"))
    readPlacement(*placement);
  if (failed_ || llvm::any_of(outputs, [](Value v) { return !v; }))
    return failure();
  if (sizes)
    checkRanges(*sizes);
  if (failed_)
    return failure();

  func::ReturnOp::create(builder_, func_.getLoc(), outputs);
  func_.setType(builder_.getFunctionType(func_.getArgumentTypes(), ValueRange(outputs).getTypes()));
  for (auto [i, n] : llvm::enumerate(outputNames))
    func_.setResultAttr(i, "spire.name", builder_.getStringAttr(n));
  SmallVector<Attribute> symbolAttrs;
  for (const std::string &s : result_.symbols)
    symbolAttrs.push_back(builder_.getStringAttr(s));
  func_->setAttr("spire.symbols", builder_.getArrayAttr(symbolAttrs));
  func_->setAttr("spire.model", builder_.getStringAttr(result_.modelName));

  if (failed(verify(*result_.module)))
    return failure();
  return std::move(result_);
}

} // namespace frontend

FailureOr<SpecModule> buildSpecModule(MLIRContext &context, StringRef path, StringRef text,
                                      const BuildOptions &options) {
  loadSpecDialects(context);
  ParseResult parsed = parseSpecYaml(text.str());
  for (const ParseError &e : parsed.errors)
    emitError(FileLineColLoc::get(&context, path, e.loc.line, e.loc.column)) << e.message;
  if (!parsed.errors.empty() || !parsed.root)
    return failure();
  frontend::ModuleBuilder builder(context, path, options);
  return builder.build(*parsed.root);
}

} // namespace spire

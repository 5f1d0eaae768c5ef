// spire graph: a spec or a bundle as a Graphviz picture. Layers (or, for a
// bundle, its fused kernels' dispatches) are nodes with their output shapes;
// dotted names become nested block clusters inside a cluster per stage; a
// split point is a cut line between stages, and every edge that crosses one
// carries its tensor's name, shape and bytes per sample: the stage interface
// that `spire summary` reports. DOT is written here; svg and png come from
// Graphviz's `dot`.
#include "Commands.h"

#include "spire/Analysis/Stages.h"
#include "spire/Analysis/Summary.h"
#include "spire/BundleFormat.h"
#include "spire/Dialect/SpireOps.h"
#include "spire/bundle_generated.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace spire::cli {
namespace {

// A model drawn as nodes and edges, whichever of spec or bundle it came from.
struct GraphNode {
  std::string id;
  std::string name;   // layer or tensor name
  std::string detail; // kind and shape lines under the name
  size_t stage = 0;
  bool io = false;    // a model input or output: never in a block cluster
  std::string path;   // dotted layer name that nests it in blocks (default: name)
};

struct GraphEdge {
  enum class Kind { Next, Skip, From };
  std::string from, to;
  Kind kind = Kind::Next;
  std::string tensor;
  // The cuts this edge is drawn as crossing, with the interface tensor's
  // label: each (cut, tensor) of the live sets on exactly one edge.
  std::vector<size_t> cuts;
  std::string cutLabel;
};

struct Graph {
  std::string name;
  std::string unit = "layers"; // what a collapsed block's count counts
  std::vector<std::string> stageLabels; // one per stage
  std::vector<std::string> splits;      // split point names, one per cut
  std::vector<GraphNode> nodes;
  std::vector<GraphEdge> edges;
};

// What `spire summary` prints for a byte count.
std::string bytesText(std::optional<int64_t> bytes) {
  return bytes ? formatBytes(bytes) : "? bytes";
}

// The cut edge label: what `spire summary` prints for an interface tensor.
std::string cutLabel(const std::string &name, const std::string &shape,
                     std::optional<int64_t> bytes) {
  return name + "\n" + shape + "\n" + bytesText(bytes) + " per sample";
}

// Marks, for every cut an edge crosses, the first edge carrying each live
// tensor: `live[c]` maps cut c's interface tensors to their labels.
void markCuts(Graph &g, const std::vector<std::map<std::string, std::string>> &live) {
  std::map<std::string, size_t> stageOf;
  for (const GraphNode &n : g.nodes)
    stageOf[n.id] = n.stage;
  std::set<std::pair<size_t, std::string>> done;
  for (GraphEdge &e : g.edges)
    for (size_t c = stageOf[e.from]; c < stageOf[e.to] && c < live.size(); ++c) {
      auto it = live[c].find(e.tensor);
      if (it == live[c].end() || !done.insert({c, e.tensor}).second)
        continue;
      e.cuts.push_back(c);
      e.cutLabel = it->second;
    }
}

std::string dq(const std::string &text) {
  std::string s = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      s += '\\';
    if (c == '\n')
      s += "\\n";
    else
      s += c;
  }
  return s + "\"";
}

// Light fill and strong line colour per stage, cycling.
const char *kFill[] = {"#dbeafe", "#dcfce7", "#fef3c7", "#fce7f3", "#ede9fe", "#cffafe"};
const char *kLine[] = {"#1d4ed8", "#15803d", "#b45309", "#be185d", "#6d28d9", "#0e7490"};
const char *fill(size_t stage) { return kFill[stage % std::size(kFill)]; }
const char *line(size_t stage) { return kLine[stage % std::size(kLine)]; }

std::vector<std::string> dotted(const std::string &name) {
  std::vector<std::string> parts;
  llvm::SmallVector<llvm::StringRef> pieces;
  llvm::StringRef(name).split(pieces, '.');
  for (llvm::StringRef p : pieces)
    parts.push_back(p.str());
  return parts;
}

std::string joined(const std::vector<std::string> &parts, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < parts.size(); ++i)
    s += (i ? "." : "") + parts[i];
  return s;
}

// A block cluster in one stage, by dotted prefix: its nodes and sub-blocks.
struct Block {
  std::vector<std::string> nodes;         // DOT node statements
  std::map<std::string, Block> children; // by full prefix
};

void writeBlock(const Block &b, size_t stage, int indent, llvm::raw_ostream &os) {
  std::string pad(indent, ' ');
  for (const auto &[childPrefix, child] : b.children) {
    os << pad << "subgraph " << dq("cluster_" + std::to_string(stage) + "_" + childPrefix)
       << " {\n"
       << pad << "  label=" << dq(childPrefix) << "; style=\"rounded\"; color=\"#9ca3af\";\n";
    writeBlock(child, stage, indent + 2, os);
    os << pad << "}\n";
  }
  for (const std::string &n : b.nodes)
    os << pad << n << ";\n";
}

// DOT for `g`; blocks nested deeper than `depth` levels (all when < 0)
// become one node per block and stage.
void writeDot(const Graph &g, int depth, llvm::raw_ostream &os) {
  // Where each node is drawn: itself, or its collapsed block.
  std::map<std::string, std::string> drawnAs;
  std::map<std::string, GraphNode> drawn; // by id, in first-seen order below
  std::vector<std::string> order;
  std::map<std::string, size_t> members;
  for (const GraphNode &n : g.nodes) {
    std::vector<std::string> parts = dotted(n.path.empty() ? n.name : n.path);
    GraphNode d = n;
    if (!n.io && depth >= 0 && parts.size() > static_cast<size_t>(depth) + 1) {
      std::string block = joined(parts, depth + 1);
      d.id = "block:" + std::to_string(n.stage) + ":" + block;
      d.name = d.path = block;
      d.detail = n.detail; // the block's output: its last member's
    }
    drawnAs[n.id] = d.id;
    if (!drawn.count(d.id))
      order.push_back(d.id);
    ++members[d.id];
    drawn[d.id] = d;
  }
  std::map<std::string, std::set<size_t>> blockStages;
  for (const auto &[id, d] : drawn)
    if (id.rfind("block:", 0) == 0)
      blockStages[d.name].insert(d.stage);

  os << "// spire graph of '" << g.name << "'. Edges that cross a split carry class=\"cut\",\n"
     << "// spire_cuts (the cut indices) and spire_tensor (the interface tensor).\n"
     << "digraph " << dq(g.name) << " {\n"
     << "  graph [rankdir=TB, fontname=\"Helvetica\", label=" << dq("model '" + g.name + "'")
     << ", labelloc=t, newrank=true];\n"
     << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
     << "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (size_t s = 0; s < g.stageLabels.size(); ++s) {
    os << "  subgraph " << dq("cluster_stage" + std::to_string(s)) << " {\n"
       << "    label=" << dq(g.stageLabels[s]) << "; style=\"filled,rounded\"; fillcolor="
       << dq(fill(s)) << "; color=" << dq(line(s)) << "; fontcolor=" << dq(line(s))
       << ";\n";
    Block top;
    for (const std::string &id : order) {
      const GraphNode &d = drawn[id];
      if (d.stage != s)
        continue;
      std::string label = d.name;
      if (members[id] > 1) {
        label += " (" + std::to_string(members[id]) + " " + g.unit;
        if (blockStages[d.name].size() > 1)
          label += ", part in stage " + std::to_string(s);
        label += ")";
      }
      label += "\n" + d.detail;
      std::vector<std::string> parts = dotted(d.path.empty() ? d.name : d.path);
      Block *b = &top;
      for (size_t k = 1; !d.io && k < parts.size(); ++k)
        b = &b->children[joined(parts, k)];
      b->nodes.push_back(dq(id) + " [label=" + dq(label) +
                         (d.io ? ", shape=ellipse, fillcolor=\"white\"" : ", fillcolor=\"white\"") +
                         (members[id] > 1 ? ", peripheries=2" : "") + "]");
    }
    writeBlock(top, s, 4, os);
    os << "  }\n";
  }

  // The cut lines: a marker between the last node of a stage and the first
  // of the next, kept in place by invisible edges.
  for (size_t c = 0; c < g.splits.size(); ++c) {
    std::string last, first;
    for (const std::string &id : order) {
      if (drawn[id].stage == c && !drawn[id].io)
        last = id;
      if (drawn[id].stage == c + 1 && !drawn[id].io && first.empty())
        first = id;
    }
    std::string marker = "split:" + std::to_string(c);
    os << "  " << dq(marker) << " [shape=plaintext, style=\"\", fontcolor=\"#dc2626\", label="
       << dq("- - - - ✂ split '" + g.splits[c] + "': stage " + std::to_string(c) +
                 " | stage " + std::to_string(c + 1) + " - - - -")
       << "];\n";
    if (!last.empty())
      os << "  " << dq(last) << " -> " << dq(marker) << " [style=invis, weight=10];\n";
    if (!first.empty())
      os << "  " << dq(marker) << " -> " << dq(first) << " [style=invis, weight=10];\n";
  }

  std::set<std::tuple<std::string, std::string, int>> seen;
  for (const GraphEdge &e : g.edges) {
    std::string from = drawnAs[e.from], to = drawnAs[e.to];
    if (from == to)
      continue; // inside a collapsed block
    if (e.cuts.empty() && !seen.insert({from, to, static_cast<int>(e.kind)}).second)
      continue;
    os << "  " << dq(from) << " -> " << dq(to) << " [";
    std::string attrs;
    if (e.kind == GraphEdge::Kind::Skip)
      attrs += "style=dashed, color=\"#6b7280\", xlabel=\"residual\"";
    else if (e.kind == GraphEdge::Kind::From)
      attrs += "style=dotted, penwidth=1.5, xlabel=\"from\"";
    if (!e.cuts.empty()) {
      size_t a = e.cuts.front(), b = e.cuts.back() + 1;
      std::string cuts;
      for (size_t c : e.cuts)
        cuts += (cuts.empty() ? "" : " ") + std::to_string(c);
      attrs += std::string(attrs.empty() ? "" : ", ") + "class=\"cut\", spire_cuts=" +
               dq(cuts) + ", spire_tensor=" + dq(e.tensor) + ", penwidth=2.5, color=" +
               dq(std::string(line(a)) + ";0.5:" + line(b)) + ", fontcolor=\"#dc2626\", label=" +
               dq(e.cutLabel);
    }
    os << attrs << "];\n";
  }
  os << "}\n";
}

// --- a spec: its layers, from the summary and the checked module ----------

Graph specGraph(SpecModule &spec) {
  ModelSummary summary = summarize(spec);
  mlir::func::FuncOp func = spec.modelFunc();
  std::vector<SpecStage> stages = computeStages(func);
  Graph g;
  g.name = summary.model;
  std::vector<std::map<std::string, std::string>> live;
  for (const SummaryStage &s : summary.stages) {
    g.stageLabels.push_back(s.name + ": " + std::to_string(s.params) + " params");
    if (!s.split.empty()) {
      g.splits.push_back(s.split);
      std::map<std::string, std::string> tensors;
      for (const SummaryTensor &t : s.outputs)
        tensors[t.name] = cutLabel(t.name, t.shape, t.bytes.value());
      live.push_back(std::move(tensors));
    }
  }
  llvm::DenseMap<mlir::Value, std::string> nodeOf;
  for (mlir::BlockArgument arg : func.getArguments()) {
    std::string name = valueName(arg), shape;
    for (const SummaryTensor &t : summary.stages.front().inputs)
      if (t.name == name)
        shape = t.shape;
    g.nodes.push_back({"input:" + name, name, "input " + shape, 0, true});
    nodeOf[arg] = g.nodes.back().id;
  }
  size_t i = 0;
  // The first layer takes the (first) input unless it says `from:`.
  std::string previous = g.nodes.empty() ? "" : g.nodes.front().id;
  for (auto [k, stage] : llvm::enumerate(stages))
    for (mlir::Operation *op : stage.ops) {
      const SummaryLayer &layer = summary.layers[i];
      std::string id = "L" + std::to_string(i++);
      g.nodes.push_back({id, layer.name, layer.kind + " " + layer.shape, k, false});
      // A join's first operand is the current tensor, the others the named
      // earlier ones (or their projections): the residual edges. Otherwise
      // the previous layer's output flows on, and anything else is `from:`.
      bool join = llvm::isa<AddOp, SubOp, MulOp, DivOp, ConcatOp>(op);
      for (auto [j, operand] : llvm::enumerate(op->getOperands())) {
        GraphEdge e{nodeOf.lookup(operand), id};
        e.tensor = valueName(operand);
        if (join && j > 0)
          e.kind = GraphEdge::Kind::Skip;
        else if (e.from != previous)
          e.kind = GraphEdge::Kind::From;
        if (!e.from.empty())
          g.edges.push_back(e);
      }
      nodeOf[op->getResult(0)] = previous = id;
    }
  auto returnOp = llvm::cast<mlir::func::ReturnOp>(func.getBody().front().getTerminator());
  for (mlir::Value out : returnOp.getOperands()) {
    std::string name = valueName(out);
    std::string shape;
    for (const SummaryTensor &t : summary.stages.back().outputs)
      if (t.name == name)
        shape = t.shape;
    g.nodes.push_back({"output:" + name, name, "output " + shape, stages.size() - 1, true});
    GraphEdge e{nodeOf.lookup(out), "output:" + name};
    e.tensor = name;
    g.edges.push_back(e);
  }
  markCuts(g, live);
  return g;
}

// --- a bundle: its dispatches, and data flow through its arena regions ----

std::string shapeText(const flatbuffers::Vector<int64_t> *shape) {
  std::string s = "[";
  for (size_t i = 0; shape && i < shape->size(); ++i)
    s += (i ? ", " : "") + (shape->Get(i) < 0 ? std::string("N") : std::to_string(shape->Get(i)));
  return s + "]";
}

std::optional<int64_t> bytesPerSample(const flatbuffers::Vector<int64_t> *shape) {
  int64_t n = 4;
  for (size_t i = 1; shape && i < shape->size(); ++i) {
    if (shape->Get(i) < 0)
      return std::nullopt;
    n *= shape->Get(i);
  }
  return n;
}

Graph bundleGraph(const bundle::Model &m) {
  Graph g;
  g.name = m.name() ? m.name()->str() : "model";
  g.unit = "dispatches";
  size_t stageCount = m.stages()->size();
  std::vector<std::map<std::string, std::string>> live;
  for (size_t s = 0; s < stageCount; ++s) {
    const bundle::Stage *st = m.stages()->Get(s);
    size_t runs = std::count_if(st->dispatches()->begin(), st->dispatches()->end(),
                                [](auto *d) { return !d->when() || d->when()->otherwise(); });
    g.stageLabels.push_back(st->name()->str() + ": " + std::to_string(runs) +
                            " dispatches, arena " + bytesText(int64_t(st->arena_size())) +
                            " per sample");
    if (s + 1 < stageCount) {
      // A bundle keeps no split names: the cut is named by its stages.
      g.splits.push_back("after " + st->name()->str());
      std::map<std::string, std::string> tensors;
      for (const bundle::Tensor *t : *st->outputs())
        tensors[t->name()->str()] =
            cutLabel(t->name()->str(), shapeText(t->shape()), bytesPerSample(t->shape()));
      live.push_back(std::move(tensors));
    }
  }
  // The node that produced each interface tensor, across stages.
  std::map<std::string, std::string> source;
  for (const bundle::Tensor *t : *m.inputs()) {
    std::string name = t->name()->str();
    g.nodes.push_back({"input:" + name, name, "input " + shapeText(t->shape()), 0, true});
    source[name] = g.nodes.back().id;
  }
  for (size_t s = 0; s < stageCount; ++s) {
    const bundle::Stage *st = m.stages()->Get(s);
    // Arena writes so far, latest last: what a read of a region sees.
    struct Write {
      uint64_t offset, size;
      std::string node, tensor;
    };
    std::vector<Write> writes;
    for (const bundle::Tensor *t : *st->inputs()) {
      std::string name = t->name()->str();
      writes.push_back({t->region()->offset(), t->region()->size(), source[name], name});
    }
    auto latest = [&](const bundle::Region &r) -> const Write * {
      for (auto it = writes.rbegin(); it != writes.rend(); ++it)
        if (it->offset < r.offset() + r.size() && r.offset() < it->offset + it->size)
          return &*it;
      return nullptr;
    };
    // The flow runs on from the tensor defined last before the cut (the live
    // set is in definition order), or from the first model input.
    std::string previous;
    if (st->inputs()->size())
      previous = source[st->inputs()->Get(s == 0 ? 0 : st->inputs()->size() - 1)->name()->str()];
    // A layer's size-class dispatches (Dispatch.when) are one node, drawn
    // as the dispatch that serves the other sizes.
    size_t classes = 0;
    for (size_t d = 0; d < st->dispatches()->size(); ++d) {
      const bundle::Dispatch *dispatch = st->dispatches()->Get(d);
      if (dispatch->when() && !dispatch->when()->otherwise()) {
        ++classes;
        continue;
      }
      std::string id = "s" + std::to_string(s) + "d" + std::to_string(d);
      const bundle::Kernel *kernel = m.kernels()->Get(dispatch->kernel());
      std::string layer = dispatch->layer() ? dispatch->layer()->str() : kernel->name()->str();
      std::string grid;
      for (size_t i = 0; dispatch->grid() && i < dispatch->grid()->size(); ++i)
        grid += (i ? "x" : "") + std::to_string(dispatch->grid()->Get(i));
      if (classes)
        grid += "\n+" + std::to_string(classes) + " kernel(s) for size classes";
      classes = 0;
      // Nested in the blocks of the first layer it computes.
      g.nodes.push_back({id, layer, kernel->name()->str() + "\ngrid " + grid, s, false,
                         layer.substr(0, layer.find('+'))});
      // Binding 0 is what the dispatch writes; the others are its reads.
      std::set<std::string> from;
      for (size_t b = 1; b < dispatch->bindings()->size(); ++b) {
        const bundle::Region &r = *dispatch->bindings()->Get(b);
        const Write *w = r.space() == bundle::Space::Arena ? latest(r) : nullptr;
        if (!w || w->node.empty() || !from.insert(w->node).second)
          continue;
        GraphEdge e{w->node, id};
        e.tensor = w->tensor;
        e.kind = w->node == previous ? GraphEdge::Kind::Next : GraphEdge::Kind::Skip;
        g.edges.push_back(e);
      }
      const bundle::Region &out = *dispatch->bindings()->Get(0);
      if (out.space() == bundle::Space::Arena)
        writes.push_back({out.offset(), out.size(), id, layer});
      previous = id;
    }
    for (const bundle::Tensor *t : *st->outputs())
      if (const Write *w = latest(*t->region()))
        source[t->name()->str()] = w->node;
  }
  for (const bundle::Tensor *t : *m.outputs()) {
    std::string name = t->name()->str();
    g.nodes.push_back({"output:" + name, name, "output " + shapeText(t->shape()),
                       stageCount - 1, true});
    GraphEdge e{source[name], "output:" + name};
    e.tensor = name;
    g.edges.push_back(e);
  }
  markCuts(g, live);
  return g;
}

// Writes `dot` to o.output (DOT as is; svg or png through Graphviz).
int emitGraph(const std::string &dot, const CommonOptions &o) {
  llvm::StringRef ext = llvm::sys::path::extension(o.output);
  if (o.output.empty() || o.output == "-") {
    llvm::outs() << dot;
    return kExitOk;
  }
  if (ext == ".dot" || ext == ".gv") {
    std::error_code ec;
    llvm::raw_fd_ostream os(o.output, ec, llvm::sys::fs::OF_None);
    if (ec) {
      llvm::errs() << "error: cannot write '" << o.output << "': " << ec.message() << "\n";
      return kExitSpec;
    }
    os << dot;
    return kExitOk;
  }
  if (ext != ".svg" && ext != ".png") {
    llvm::errs() << "error: -o '" << o.output
                 << "': the picture's format comes from its extension: .svg, .png or .dot\n";
    return kExitUsage;
  }
  auto dotProgram = llvm::sys::findProgramByName("dot");
  if (!dotProgram) {
    llvm::errs() << "error: -o '" << o.output << "' needs Graphviz's `dot`, which is not on PATH "
                 << "(Debian: apt-get install graphviz); -o FILE.dot writes the graph without it\n";
    return kExitUsage;
  }
  llvm::SmallString<128> input;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("spire-graph", "dot", fd, input)) {
    llvm::errs() << "error: cannot create a temporary file: " << ec.message() << "\n";
    return kExitSpec;
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << dot;
  }
  std::string format = "-T" + ext.drop_front().str(), out = "-o" + o.output;
  llvm::StringRef args[] = {*dotProgram, format, out, input};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*dotProgram, args, std::nullopt, {}, 0, 0, &message);
  llvm::sys::fs::remove(input);
  if (rc != 0) {
    llvm::errs() << "error: `dot " << format << "` could not write '" << o.output << "'"
                 << (message.empty() ? "" : ": " + message) << "\n";
    return kExitSpec;
  }
  return kExitOk;
}

} // namespace

bool isBundlePath(const std::string &path) {
  return llvm::StringRef(path).ends_with(".spire");
}

int runGraphOfSpec(SpecModule &spec, const CommonOptions &o) {
  std::string dot;
  llvm::raw_string_ostream os(dot);
  writeDot(specGraph(spec), o.graphDepth, os);
  return emitGraph(dot, o);
}

int runGraphOfBundle(const CommonOptions &o) {
  if (std::string problem = verifyBundle(o.spec); !problem.empty()) {
    llvm::errs() << "error: " << problem << "\n";
    return kExitSpec;
  }
  auto file = llvm::MemoryBuffer::getFile(o.spec);
  if (!file) {
    llvm::errs() << "error: cannot read bundle '" << o.spec << "': " << file.getError().message()
                 << "\n";
    return kExitSpec;
  }
  bundle::Header h;
  std::memcpy(&h, (*file)->getBufferStart(), sizeof(h));
  const bundle::Model *m =
      bundle::GetModel(reinterpret_cast<const uint8_t *>((*file)->getBufferStart()) + h.manifestOffset);
  std::string dot;
  llvm::raw_string_ostream os(dot);
  writeDot(bundleGraph(*m), o.graphDepth, os);
  return emitGraph(dot, o);
}

} // namespace spire::cli

// fold-batchnorm: a batch norm after a conv or linear layer becomes part of
// that layer (its `norm`), so the weights can be folded at packing time
// and no kernel computes the norm.
#include "spire/Codegen/Passes.h"
#include "spire/Dialect/SpireOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace spire {
#define GEN_PASS_DEF_FOLDBATCHNORM
#include "spire/Codegen/Passes.h.inc"

namespace {

// Whether a split point lies between two ops of one block: then they run in
// different stages, and the value between them is a stage interface tensor.
bool splitBetween(Operation *first, Operation *last) {
  for (Operation *op = first->getNextNode(); op && op != last; op = op->getNextNode())
    if (llvm::isa<SplitOp>(op))
      return true;
  return false;
}

// The norm's channel dim must be the producer's output-channel dim: always
// for convs, for a linear layer only on [N, C].
template <typename NormOpT> struct FoldIntoProducer : OpRewritePattern<NormOpT> {
  using OpRewritePattern<NormOpT>::OpRewritePattern;

  LogicalResult matchAndRewrite(NormOpT norm, PatternRewriter &rewriter) const override {
    Value input = norm.getInput();
    Operation *producer = input.getDefiningOp();
    if (!producer || !llvm::isa<Conv1dOp, Conv2dOp, LinearOp>(producer))
      return rewriter.notifyMatchFailure(norm, "not after a conv or linear layer");
    if (llvm::isa<LinearOp>(producer) && llvm::cast<RankedTensorType>(input.getType()).getRank() != 2)
      return rewriter.notifyMatchFailure(norm, "a linear layer's channels are not dim 1");
    if (!input.hasOneUse() || producer->hasAttr("norm") || splitBetween(producer, norm))
      return rewriter.notifyMatchFailure(norm, "the producer's output is needed unnormalized");
    rewriter.modifyOpInPlace(producer, [&] {
      producer->setAttr("norm", norm.getNameAttr());
      producer->setAttr("norm_eps", norm.getEpsAttr());
    });
    rewriter.replaceOp(norm, input);
    return success();
  }
};

struct FoldBatchnorm : impl::FoldBatchnormBase<FoldBatchnorm> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldIntoProducer<Batchnorm1dOp>, FoldIntoProducer<Batchnorm2dOp>>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace spire

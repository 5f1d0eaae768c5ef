#pragma once

#include "mlir/IR/Dialect.h"

#include "spire/Dialect/SpireDialect.h.inc"

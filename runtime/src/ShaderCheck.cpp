// The strict SPIR-V check for untrusted bundles; see ShaderCheck.h. It runs
// after the reader's structural check (Bundle.cpp: header, instruction
// lengths, entry point), so instructions stay inside the module here.
#include "ShaderCheck.h"

#include <algorithm>
#include <cstring>

namespace spire {

namespace fb = spire::bundle;

namespace {

// SPIR-V opcodes, operands and enumerants this check reads (SPIR-V 1.6 spec).
enum : uint32_t {
  OpExtension = 10,
  OpExtInstImport = 11,
  OpMemoryModel = 14,
  OpEntryPoint = 15,
  OpCapability = 17,
  OpTypePointer = 32,
  OpTypeForwardPointer = 39,
  OpVariable = 59,
  OpDecorate = 71,
  OpMemberDecorate = 72,
  AddressingLogical = 0,
  ExecutionModelGLCompute = 5,
  DecorationBuiltIn = 11,
  DecorationBinding = 33,
  DecorationDescriptorSet = 34,
};

// Capabilities that add no way to address memory: what Spire emits today,
// and arithmetic and subgroup ones it may emit. Refused among others:
// Addresses, Kernel, Linkage, VariablePointers*, PhysicalStorageBufferAddresses.
constexpr uint32_t kCapabilities[] = {
    0,    // Matrix
    1,    // Shader
    9,    // Float16
    11,   // Int64
    22,   // Int16
    39,   // Int8
    46,   // SampledBuffer (uniform texel buffers)
    61,   // GroupNonUniform
    62,   // GroupNonUniformVote
    63,   // GroupNonUniformArithmetic
    64,   // GroupNonUniformBallot
    65,   // GroupNonUniformShuffle
    66,   // GroupNonUniformShuffleRelative
    67,   // GroupNonUniformClustered
    4433, // StorageBuffer16BitAccess
    4448, // StorageBuffer8BitAccess
    6019, // DotProduct
};

// Storage classes reachable through descriptors, builtins or the kernel's
// own variables; PhysicalStorageBuffer, CrossWorkgroup, Generic are not.
constexpr uint32_t kStorageClasses[] = {
    0,  // UniformConstant (texel buffers)
    1,  // Input (builtins)
    2,  // Uniform
    4,  // Workgroup
    6,  // Private
    7,  // Function
    9,  // PushConstant
    12, // StorageBuffer
};

// The builtins a compute shader may read (drivers are not required to
// survive others: lavapipe crashes on ClipDistance in a compute shader).
constexpr uint32_t kBuiltins[] = {
    24, 25, 26, 27, 28, 29, // NumWorkgroups .. LocalInvocationIndex
    36, 38, 40, 41,         // SubgroupSize, NumSubgroups, SubgroupId, SubgroupLocalInvocationId
};

constexpr const char *kExtensions[] = {"SPV_KHR_storage_buffer_storage_class",
                                       "SPV_KHR_16bit_storage", "SPV_KHR_8bit_storage"};

bool contains(const auto &list, uint32_t v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

// A literal string operand starting at `word` of an instruction of `count`
// words at `at`; empty when it is not nul-terminated inside it.
std::string literal(const uint32_t *words, size_t at, uint32_t count, uint32_t word) {
  if (word >= count)
    return {};
  const char *s = reinterpret_cast<const char *>(words + at + word);
  size_t room = (count - word) * 4;
  size_t n = strnlen(s, room);
  return n < room ? std::string(s, n) : std::string();
}

} // namespace

void checkKernelStrictly(const fb::Kernel &kernel, size_t k, uint32_t bindings) {
  const uint32_t *words = kernel.spirv()->data();
  size_t size = kernel.spirv()->size();
  std::string what = "kernel " + std::to_string(k) + " ('" + kernel.name()->str() + "')";
  auto refuse = [&](size_t at, const std::string &why) {
    throw Error(Error::Kind::Bundle, what + ": the SPIR-V instruction at word " + std::to_string(at) +
                                         " " + why + "; refused for an untrusted bundle");
  };
  for (size_t at = 5; at < size;) {
    uint32_t count = words[at] >> 16, opcode = words[at] & 0xffff;
    auto operand = [&](uint32_t i) { return i < count ? words[at + i] : UINT32_MAX; };
    switch (opcode) {
    case OpCapability:
      if (!contains(kCapabilities, operand(1)))
        refuse(at, "declares capability " + std::to_string(operand(1)));
      break;
    case OpExtension: {
      std::string name = literal(words, at, count, 1);
      if (std::none_of(std::begin(kExtensions), std::end(kExtensions),
                       [&](const char *e) { return name == e; }))
        refuse(at, "uses extension '" + name + "'");
      break;
    }
    case OpExtInstImport:
      if (literal(words, at, count, 2) != "GLSL.std.450")
        refuse(at, "imports instruction set '" + literal(words, at, count, 2) + "'");
      break;
    case OpMemoryModel:
      if (operand(1) != AddressingLogical)
        refuse(at, "uses addressing model " + std::to_string(operand(1)) + ", not Logical");
      break;
    case OpEntryPoint:
      if (operand(1) != ExecutionModelGLCompute)
        refuse(at, "declares an entry point of execution model " + std::to_string(operand(1)));
      break;
    case OpTypeForwardPointer:
      refuse(at, "forward-declares a pointer type");
      break;
    case OpTypePointer:
      if (!contains(kStorageClasses, operand(2)))
        refuse(at, "declares a pointer to storage class " + std::to_string(operand(2)));
      break;
    case OpVariable:
      if (!contains(kStorageClasses, operand(3)))
        refuse(at, "declares a variable in storage class " + std::to_string(operand(3)));
      break;
    case OpMemberDecorate:
      if (operand(3) == DecorationBuiltIn)
        refuse(at, "decorates a structure member as a builtin");
      break;
    case OpDecorate:
      if (operand(2) == DecorationDescriptorSet && operand(3) != 0)
        refuse(at, "uses descriptor set " + std::to_string(operand(3)) + "; bundles bind set 0");
      if (operand(2) == DecorationBuiltIn && !contains(kBuiltins, operand(3)))
        refuse(at, "uses builtin " + std::to_string(operand(3)) + ", not one of a compute shader's");
      if (operand(2) == DecorationBinding && operand(3) >= bindings)
        refuse(at, "uses binding " + std::to_string(operand(3)) + "; its dispatches bind " +
                       std::to_string(bindings));
      break;
    default:
      break;
    }
    at += count;
  }
}

} // namespace spire

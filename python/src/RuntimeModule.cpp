// spire._runtime: the runtime library (Runtime.h) for Python. It links only
// spire_runtime and the Vulkan loader, so `import spire` and running a bundle
// never load MLIR or LLVM. Arrays come in through NumPy (anything with the
// buffer protocol or __array__), read in place when they are C-contiguous
// float32, and outputs go out as NumPy arrays that own the runtime's result
// vectors: no copy either way where the layout allows. The GIL is released while a
// bundle loads and while the device runs.
#include "spire/Runtime.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

namespace py = pybind11;
using namespace spire;

namespace {

// spire.Error's subclasses and the description classes live in Python
// (spire/_types.py), so that both extension modules make the same ones.
py::object pyClass(const char *name) { return py::module_::import("spire._types").attr(name); }

void raise(const char *cls, const std::string &message) {
  PyErr_SetObject(pyClass(cls).ptr(), py::str(message).ptr());
  throw py::error_already_set();
}

const char *classFor(Error::Kind kind) {
  switch (kind) {
  case Error::Kind::Bundle:
    return "BundleError";
  case Error::Kind::Input:
    return "InputError";
  case Error::Kind::Device:
    return "DeviceError";
  case Error::Kind::Usage:
    return "UsageError";
  }
  return "Error";
}

// A tensor description: shape with None for a batch chosen at run time and
// the expression ("L") for a dim the size symbols choose.
py::object tensorSpec(const TensorInfo &t) {
  py::list shape;
  for (size_t i = 0; i < t.shape.size(); ++i)
    shape.append(i < t.dimText.size() && !t.dimText[i].empty() ? py::object(py::str(t.dimText[i]))
                 : t.shape[i] < 0                              ? py::object(py::none())
                                                               : py::object(py::int_(t.shape[i])));
  return pyClass("TensorSpec")(t.name, py::tuple(shape), py::dtype::of<float>());
}

py::list tensorSpecs(const std::vector<TensorInfo> &infos) {
  py::list list;
  for (const TensorInfo &t : infos)
    list.append(tensorSpec(t));
  return list;
}

// A bundle loaded on a device. Members are destroyed in reverse: the model
// before the bundle it points into, the bundle before the bytes it borrows.
struct PyModel {
  py::object bytes; // a borrowed `bytes` object, kept alive while the bundle reads it
  std::unique_ptr<Context> context;
  std::unique_ptr<Bundle> bundle;
  std::unique_ptr<Model> model;

  PyModel(py::object source, std::optional<uint32_t> device, std::optional<bool> validation);
  TensorViewMap inputsFrom(const py::dict &arrays, std::vector<py::object> &keep) const;
  py::dict run(const py::dict &arrays, std::optional<std::pair<size_t, size_t>> stages,
               const SizeMap &sizes);
  size_t stageIndex(const py::handle &stage) const;
};

PyModel::PyModel(py::object source, std::optional<uint32_t> device,
                 std::optional<bool> validation) {
  std::optional<std::string> path;
  if (py::isinstance<py::str>(source) || py::hasattr(source, "__fspath__")) {
    path = py::str(py::module_::import("os").attr("fspath")(source));
  } else if (py::isinstance<py::bytes>(source)) {
    bytes = source; // immutable: the bundle can borrow it
  } else if (PyObject_CheckBuffer(source.ptr())) {
    // A mutable or strided buffer: one contiguous, immutable copy.
    bytes = py::module_::import("builtins").attr("bytes")(source);
  } else {
    raise("UsageError", "spire.Model takes a bundle path or its bytes, not " +
                            std::string(py::str(py::type::of(source).attr("__name__"))));
  }
  py::gil_scoped_release release;
  ContextOptions options;
  options.validation = validation.value_or(false);
  context = std::make_unique<Context>(options);
  if (path) {
    bundle = std::make_unique<Bundle>(Bundle::fromFile(*path));
  } else {
    char *data = nullptr;
    Py_ssize_t size = 0;
    PyBytes_AsStringAndSize(bytes.ptr(), &data, &size);
    bundle = std::make_unique<Bundle>(Bundle::fromMemory(data, size, /*copy=*/false));
  }
  std::vector<DeviceInfo> devices = context->devices();
  if (devices.empty())
    throw Error(Error::Kind::Device,
                "no Vulkan device found (is a driver such as mesa-vulkan-drivers installed?)");
  uint32_t index = device.value_or(context->defaultDevice());
  if (index >= devices.size())
    throw Error(Error::Kind::Usage, "device " + std::to_string(index) + ": there are " +
                                        std::to_string(devices.size()) +
                                        " device(s); see spire.devices()");
  model = std::make_unique<Model>(*context, *bundle, index);
}

// The arrays as views for the runtime: float arrays become C-contiguous
// float32 (no conversion when they already are), kept alive in `keep`;
// anything else is an error. The runtime checks their names and shapes
// against the stage's interface.
TensorViewMap PyModel::inputsFrom(const py::dict &arrays, std::vector<py::object> &keep) const {
  TensorViewMap inputs;
  for (auto [key, value] : arrays) {
    if (!py::isinstance<py::str>(key))
      raise("UsageError", "input names are strings, got " +
                              std::string(py::str(py::repr(key))));
    std::string name = py::str(key);
    py::array array = py::array::ensure(value);
    if (!array)
      raise("InputError", "input '" + name + "': expected an array (buffer protocol or "
                          "__array__), got " +
                          std::string(py::str(py::type::of(value).attr("__name__"))));
    if (array.dtype().kind() != 'f')
      raise("InputError", "input '" + name + "': the model takes float32, got " +
                              std::string(py::str(array.dtype())) +
                              "; convert it with .astype(numpy.float32)");
    auto dense = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(array);
    TensorView view{{dense.shape(), dense.shape() + dense.ndim()},
                    dense.data(),
                    static_cast<size_t>(dense.size())};
    keep.push_back(dense);
    inputs.emplace(std::move(name), std::move(view));
  }
  return inputs;
}

py::dict PyModel::run(const py::dict &arrays, std::optional<std::pair<size_t, size_t>> stages,
                      const SizeMap &sizes) {
  const std::vector<StageInfo> &infos = bundle->stages();
  std::vector<py::object> keep; // the arrays the views read
  TensorViewMap inputs = inputsFrom(arrays, keep);
  size_t first = stages ? stages->first : 0, last = stages ? stages->second : infos.size() - 1;
  TensorMap outputs;
  {
    py::gil_scoped_release release;
    outputs = model->runStagesOnViews(first, last, inputs, sizes);
  }
  // In interface order (a whole run: the model's outputs, which the last
  // stage's interface may exceed); each array owns its result vector.
  const std::vector<TensorInfo> &order = stages ? infos[stages->second].outputs : bundle->outputs();
  py::dict result;
  for (const TensorInfo &info : order) {
    Tensor &t = outputs.at(info.name);
    auto *data = new std::vector<float>(std::move(t.data));
    py::capsule owner(data, [](void *p) { delete static_cast<std::vector<float> *>(p); });
    result[py::str(info.name)] = py::array_t<float>(t.shape, data->data(), owner);
  }
  return result;
}

size_t PyModel::stageIndex(const py::handle &stage) const {
  const std::vector<StageInfo> &infos = bundle->stages();
  std::string names;
  for (size_t i = 0; i < infos.size(); ++i) {
    if (py::isinstance<py::str>(stage) && infos[i].name == std::string(py::str(stage)))
      return i;
    if (i)
      names += ", ";
    names += std::to_string(i) + " '" + infos[i].name + "'";
  }
  if (py::isinstance<py::int_>(stage)) {
    long long i = stage.cast<long long>();
    if (i >= 0 && static_cast<size_t>(i) < infos.size())
      return static_cast<size_t>(i);
  }
  raise("UsageError", "no stage " + std::string(py::str(py::repr(stage))) +
                          "; the model's stages are " + names);
  return 0;
}

} // namespace

PYBIND11_MODULE(_runtime, m) {
  m.doc() = "The Spire runtime: run a compiled .spire bundle on a Vulkan device.";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const Error &e) {
      PyErr_SetObject(pyClass(classFor(e.kind())).ptr(), py::str(e.what()).ptr());
    }
  });

  py::class_<PyModel>(m, "Model")
      .def(py::init<py::object, std::optional<uint32_t>, std::optional<bool>>(),
           py::arg("source"), py::arg("device") = py::none(), py::arg("validation") = py::none())
      .def_property_readonly("name", [](const PyModel &s) { return s.bundle->name(); })
      .def_property_readonly("batch",
                             [](const PyModel &s) -> py::object {
                               int64_t b = s.bundle->batch();
                               return b < 0 ? py::object(py::none()) : py::int_(b);
                             })
      .def_property_readonly("inputs", [](const PyModel &s) { return tensorSpecs(s.bundle->inputs()); })
      .def_property_readonly("outputs",
                             [](const PyModel &s) { return tensorSpecs(s.bundle->outputs()); })
      .def_property_readonly("stages",
                             [](const PyModel &s) {
                               py::list list;
                               py::object cls = pyClass("StageSpec");
                               const auto &stages = s.bundle->stages();
                               for (size_t i = 0; i < stages.size(); ++i)
                                 list.append(cls(i, stages[i].name, tensorSpecs(stages[i].inputs),
                                                 tensorSpecs(stages[i].outputs)));
                               return list;
                             })
      .def_property_readonly("device", [](const PyModel &s) { return s.model->device().name; })
      .def_property_readonly("target", [](const PyModel &s) { return s.bundle->target().name; })
      .def_property_readonly("last_device_ms",
                             [](const PyModel &s) { return s.model->lastDeviceMs(); })
      .def_property_readonly("sizes",
                             [](const PyModel &s) {
                               py::dict sizes;
                               for (const SizeSymbol &k : s.bundle->sizes())
                                 sizes[py::str(k.name)] = py::make_tuple(k.min, k.max, k.multipleOf);
                               return sizes;
                             })
      .def_property_readonly("last_sizes", [](const PyModel &s) { return s.model->lastSizes(); })
      .def_property_readonly("last_new_pipelines",
                             [](const PyModel &s) { return s.model->lastNewPipelines(); })
      .def("_stage_index", &PyModel::stageIndex)
      .def("_run", &PyModel::run, py::arg("inputs"), py::arg("stages") = py::none(),
           py::arg("sizes") = SizeMap{});

  m.def("devices", [] {
    Context context;
    py::list list;
    for (const DeviceInfo &d : context.devices())
      list.append(py::make_tuple(d.index, d.name, d.driver));
    return list;
  });
  // `target="native"`: the built-in profile that fits the default device.
  m.def("native_target", [] {
    Context context;
    return deviceProfile(context, context.defaultDevice()).description.name;
  });
}

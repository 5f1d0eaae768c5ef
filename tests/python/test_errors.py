"""Every error is a spire.Error subclass carrying the CLI's message: spec
errors with their YAML locations, input, bundle, device and usage errors."""
import numpy as np
import pytest

import spire
from conftest import spec_path

# A linear after a conv: a rank-4 tensor where a linear needs rank 2, and a
# disagreeing `in` on the second linear. Two errors, both reported.
BAD_SPEC = """\
spire: 1
name: bad
inputs:
  image: [N, 3, 8, 8]
layers:
  - conv2d: {name: conv1, out: 4, kernel: 3}
  - linear: {name: fc1, in: 5, out: 10}
  - flatten
  - linear: {name: fc2, in: 7, out: 2}
"""


@pytest.fixture(scope="module")
def small_cnn_bundle():
    return spire.compile(spec_path("specs/small_cnn.yaml"))


def test_error_classes():
    for cls in (spire.SpecError, spire.BundleError, spire.InputError, spire.DeviceError,
                spire.UsageError):
        assert issubclass(cls, spire.Error)


def test_spec_error_is_the_cli_text(tmp_path, cli):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SPEC)
    rc, _, stderr = cli("check", str(path))
    assert rc == 1 and stderr.count("error:") >= 1
    with pytest.raises(spire.SpecError) as compile_error:
        spire.compile(path)
    assert str(compile_error.value) == stderr.rstrip("\n")
    errors = [d for d in compile_error.value.diagnostics if d.severity == "error"]
    assert errors and all(d.file == str(path) for d in errors)
    assert errors[0].line == 7 and errors[0].column > 0
    assert f"{path}:{errors[0].line}:{errors[0].column}: error: {errors[0].message}" in stderr
    # spire.check returns the same diagnostics rather than raising.
    assert spire.check(path) == compile_error.value.diagnostics


def test_spec_text_errors_are_located_in_the_text():
    diagnostics = spire.check(BAD_SPEC)
    assert diagnostics and diagnostics[0].file == "<spec>" and diagnostics[0].line == 7
    with pytest.raises(spire.SpecError, match=r"<spec>:7:\d+: error: linear 'fc1'"):
        spire.compile(BAD_SPEC)


def test_check_of_a_good_spec_has_no_errors():
    assert not [d for d in spire.check(spec_path("specs/resnet18.yaml")) if d.severity == "error"]


def test_unreadable_spec_and_bad_sets(cli):
    rc, _, stderr = cli("check", "/nonexistent/x.yaml")
    with pytest.raises(spire.SpecError) as e:
        spire.check("/nonexistent/x.yaml")
    assert rc == 1 and str(e.value) == stderr.rstrip("\n")
    with pytest.raises(spire.UsageError, match="SYMBOL=SIZE with SIZE >= 1, got 'L=0'"):
        spire.compile(spec_path("specs/conv1d_sequence.yaml"), sets={"L": 0})


def test_weights_errors_name_the_layer():
    weights = {"conv1.weight": np.zeros((16, 3, 3, 3), np.float32)}
    with pytest.raises(spire.SpecError, match=r"small_cnn.yaml:\d+:\d+: error: .*'conv1.bias'"):
        spire.compile(spec_path("specs/small_cnn.yaml"), weights=weights)
    with pytest.raises(spire.UsageError, match="weights are float arrays"):
        spire.compile(spec_path("specs/small_cnn.yaml"), weights={"conv1.weight": np.zeros(3, int)})


def test_unknown_target():
    with pytest.raises(spire.SpecError, match="unknown target 'tpu'"):
        spire.compile(spec_path("specs/mlp.yaml"), target="tpu")


def test_input_errors_are_the_cli_text(tmp_path, cli, small_cnn_bundle):
    bundle = tmp_path / "small_cnn.spire"
    bundle.write_bytes(small_cnn_bundle)
    bad = np.zeros((2, 3, 16, 16), np.float32)
    np.save(tmp_path / "bad.npy", bad)
    rc, _, stderr = cli("run", str(bundle), "--input", f"image={tmp_path / 'bad.npy'}")
    model = spire.Model(small_cnn_bundle)
    with pytest.raises(spire.InputError) as e:
        model(image=bad)
    assert rc == 1 and f"error: {e.value}" == stderr.rstrip("\n")
    with pytest.raises(spire.InputError, match="missing input 'image'"):
        model()
    with pytest.raises(spire.InputError, match="unknown input 'img'"):
        model(img=bad)
    with pytest.raises(spire.InputError, match="takes float32, got int64"):
        model(image=np.zeros((1, 3, 32, 32), np.int64))
    with pytest.raises(spire.InputError, match="takes float32, got <U12"):
        model(image="not an array")
    with pytest.raises(spire.UsageError, match="takes 1 input"):
        model(bad, bad)


def test_bundle_errors(small_cnn_bundle, tmp_path):
    with pytest.raises(spire.BundleError):
        spire.Model(b"not a bundle")
    truncated = small_cnn_bundle[: len(small_cnn_bundle) // 2]
    with pytest.raises(spire.BundleError):
        spire.Model(truncated)
    with pytest.raises(spire.BundleError, match="nonexistent"):
        spire.Model(tmp_path / "nonexistent.spire")
    with pytest.raises(spire.UsageError, match="bundle path or its bytes"):
        spire.Model(42)


def test_usage_errors(small_cnn_bundle):
    model = spire.Model(small_cnn_bundle)
    image = np.zeros((1, 3, 32, 32), np.float32)
    with pytest.raises(spire.UsageError, match="no stage 5; the model's stages are 0 "):
        model.run({"image": image}, stages=5)
    with pytest.raises(spire.UsageError, match="no stage 'nope'"):
        model.run({"image": image}, stages=("nope", 1))
    with pytest.raises(spire.UsageError, match="stages 1..0 do not exist"):
        model.run({"image": image}, stages=(1, 0))
    with pytest.raises(spire.UsageError, match="device 99: there are"):
        spire.Model(small_cnn_bundle, device=99)


def test_input_error_for_a_batch_the_device_cannot_hold():
    """A batch whose dispatch grid exceeds maxComputeWorkGroupCount (65535
    on lavapipe): refused before anything is allocated, with the batch
    that fits."""
    spec = "spire: 1\nname: tiny\ninputs:\n  x: [N, 1]\nlayers:\n  - linear: {name: fc, out: 1}\n"
    model = spire.Model(spire.compile(spec))
    with pytest.raises(spire.InputError, match=r"maxComputeWorkGroupCount\[2\].*; at most batch \d+ fits"):
        model(x=np.zeros((1 << 20, 1), np.float32))


def test_device_error_when_one_sample_does_not_fit():
    """4 GiB a sample: over any device's maxStorageBufferRange (32-bit), so
    no batch fits; the runtime's device error, not a crash. np.zeros maps
    the input lazily and the check runs before it is read."""
    spec = "spire: 1\nname: wide\ninputs:\n  x: [N, 1073741824]\nlayers:\n  - relu\n"
    model = spire.Model(spire.compile(spec))
    with pytest.raises(spire.DeviceError, match="even at batch 1"):
        model(x=np.zeros((1, 1 << 30), np.float32))

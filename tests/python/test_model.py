"""spire.compile + spire.Model on zoo specs against PyTorch (the conformance
references, seeded random weights), stages, how arrays go in and out, and a
bundle whose sizes stay symbolic."""
import os
import subprocess

import numpy as np
import pytest
import torch

import spire
from conftest import assert_close, spec_path
from conformance import MODELS, REL_L2_TOLERANCE, randomize


def reference(model_name, seed=1234):
    spec, factory, inputs, _ = MODELS[model_name]
    return spec_path(spec), randomize(factory(), seed=seed), inputs


def feeds_for(inputs, batch, seed, sizes={}):
    """Seeded inputs; `sizes` binds the size symbols in the shapes."""
    torch.manual_seed(seed)
    return {name: torch.randn(batch, *(sizes[d] if isinstance(d, str) else d for d in shape))
            for name, shape in inputs.items()}


@pytest.fixture(scope="module")
def small_cnn():
    """small_cnn compiled with its reference's state_dict (in memory)."""
    spec, module, inputs = reference("small_cnn")
    return spire.Model(spire.compile(spec, weights=module.state_dict())), module, inputs


def test_small_cnn_matches_pytorch(small_cnn):
    model, module, inputs = small_cnn
    for batch in (1, 3):
        feeds = feeds_for(inputs, batch, seed=100 + batch)
        got = model(**{name: t.numpy() for name, t in feeds.items()})
        with torch.no_grad():
            want = module(**feeds)
        assert list(got) == list(want) == ["fc2"]
        assert_close(got["fc2"], want["fc2"].numpy(), REL_L2_TOLERANCE)


def test_multitask_weights_file_matches_pytorch(tmp_path):
    """Weights from a .safetensors file (spire.torch.export), three outputs."""
    spec, module, inputs = reference("multitask")
    weights = tmp_path / "weights.safetensors"
    spire.torch.export(module, str(weights))
    model = spire.Model(spire.compile(spec, weights=weights))
    feeds = feeds_for(inputs, 4, seed=5)
    got = model(feeds["image"].numpy())
    with torch.no_grad():
        want = module(**feeds)
    assert sorted(got) == sorted(want)
    for name in want:
        assert_close(got[name], want[name].numpy(), REL_L2_TOLERANCE)


def test_descriptions(small_cnn):
    model = small_cnn[0]
    assert model.name == "small_cnn"
    assert model.batch is None
    (image,) = model.inputs
    assert (image.name, image.shape, image.dtype) == ("image", (None, 3, 32, 32), np.float32)
    assert [(t.name, t.shape) for t in model.outputs] == [("fc2", (None, 10))]
    assert [(s.index, s.name) for s in model.stages] == [(0, "stage0"), (1, "stage1")]
    assert model.stages[0].inputs == model.inputs
    assert model.stages[1].outputs == model.outputs
    assert model.stages[0].outputs == model.stages[1].inputs


def test_stages_equal_the_whole_run(small_cnn):
    """Stage by stage (by index and by name) equals the whole run bit for bit."""
    model = small_cnn[0]
    image = np.random.default_rng(0).standard_normal((2, 3, 32, 32), dtype=np.float32)
    whole = model(image=image)
    first, second = model.stages
    middle = model.run({"image": image}, stages=0)
    assert list(middle) == [t.name for t in first.outputs]
    assert all(middle[t.name].shape == (2,) + t.shape[1:] for t in first.outputs)
    tail = model.run(middle, stages=(second.name, second.name))
    np.testing.assert_array_equal(tail["fc2"], whole["fc2"])
    np.testing.assert_array_equal(model.run({"image": image}, stages=(0, 1))["fc2"], whole["fc2"])


def test_arrays_in_and_out(small_cnn):
    model = small_cnn[0]
    rng = np.random.default_rng(1)
    image = rng.standard_normal((2, 3, 32, 32), dtype=np.float32)
    want = model(image=image)["fc2"]
    # Outputs own their data through the runtime's result, not a copy of it.
    assert want.dtype == np.float32 and want.flags.c_contiguous and not want.flags.owndata
    # A torch CPU tensor's .numpy(), a non-contiguous view, float64, and a
    # memoryview give the same numbers.
    np.testing.assert_array_equal(model(image=torch.from_numpy(image).numpy())["fc2"], want)
    strided = np.ascontiguousarray(image.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(model(image=strided)["fc2"], want)
    np.testing.assert_array_equal(model(image=image.astype(np.float64))["fc2"], want)
    np.testing.assert_array_equal(model(image=memoryview(image))["fc2"], want)
    np.testing.assert_array_equal(model(image)["fc2"], want)


def test_bundle_bytes_and_file_agree(tmp_path, small_cnn):
    bundle = spire.compile(spec_path("specs/small_cnn.yaml"))
    path = tmp_path / "small_cnn.spire"
    path.write_bytes(bundle)
    image = np.ones((1, 3, 32, 32), np.float32)
    from_file = spire.Model(path)(image=image)["fc2"]
    np.testing.assert_array_equal(spire.Model(bytearray(bundle))(image=image)["fc2"], from_file)
    np.testing.assert_array_equal(spire.Model(bundle)(image=image)["fc2"], from_file)


def test_symbols_and_spec_text():
    """A spec given as text, its length symbol bound by `sets`, against PyTorch."""
    spec, module, inputs = reference("conv1d_sequence")
    text = open(spec).read()
    model = spire.Model(spire.compile(text, weights=module.state_dict(), sets={"L": 50}))
    feeds = feeds_for(inputs, 2, seed=9, sizes={"L": 50})
    with torch.no_grad():
        want = module(**feeds)
    assert_close(model(**{k: v.numpy() for k, v in feeds.items()})["fc"], want["fc"].numpy(),
                 REL_L2_TOLERANCE)


def test_one_bundle_for_every_length(tmp_path):
    """tests/unit/LengthBundle.h's bundle: L in [5, 64] stays symbolic, and
    z = 2 (the sums of windows of 5, stride 2) + L, exact in float32."""
    path = tmp_path / "lengths.spire"
    subprocess.run([os.environ["SPIRE_TEST_LENGTH_BUNDLE"], str(path)], check=True)
    model = spire.Model(path)
    assert model.sizes == {"L": (5, 64, 1)}
    assert model.inputs[0].shape == (None, 4, "L")
    assert model.outputs[0].shape == (None, 4, "(L + -5) floordiv 2 + 1")
    for length in (5, 37, 64):
        x = ((np.arange(2 * 4 * length) * 7) % 11 - 5).astype(np.float32).reshape(2, 4, length)
        y = np.stack([x[:, :, 2 * j:2 * j + 5].sum(-1) for j in range((length - 5) // 2 + 1)], -1)
        np.testing.assert_array_equal(model(x=x)["z"], 2 * y + length)
        assert model.last_sizes == {"L": length}
        assert model.last_new_pipelines == 2
    # Stage 1 alone sees 30 windows, which L = 63 and 64 both make.
    with pytest.raises(spire.InputError, match="fits L = 63 and L = 64: give L explicitly"):
        model.run({"y": y}, stages=1)
    np.testing.assert_array_equal(model.run({"y": y}, stages=1, sizes={"L": 63})["z"], 2 * y + 63)
    with pytest.raises(spire.InputError,
                       match=r"input 'x' has L = 3 \(dim 2 of \[1, 4, 3\]\); the bundle serves L in \[5, 64\]"):
        model(x=np.zeros((1, 4, 3), np.float32))

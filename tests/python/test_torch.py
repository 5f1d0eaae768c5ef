"""spire.torch: a PyTorch module compiled in one call matches the module;
and the notebook case of issue #21: the zoo's ResNet-18 compiled with a
torchvision module's weights, run on a NumPy batch, equals PyTorch."""
import numpy as np
import pytest
import torch
import torchvision
from torch import nn

import spire
import spire.torch
from conftest import assert_close, spec_path
from conformance import REL_L2_TOLERANCE, randomize


class TinyResNet(nn.Module):
    """torchvision's layout at CIFAR size: stem, a BasicBlock with a
    projection shortcut, global pooling, a head; returns a tuple."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = torchvision.models.resnet.BasicBlock(
            8, 16, stride=2, downsample=nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False),
                                                      nn.BatchNorm2d(16)))
        self.fc = nn.Linear(16, 5)

    def forward(self, image):
        x = self.layer1(torch.relu(self.bn1(self.conv1(image))))
        features = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(features), features


def test_torch_compile_matches_the_module():
    module = randomize(TinyResNet(), seed=11)
    torch.manual_seed(12)
    compiled = spire.torch.compile(module, (torch.randn(1, 3, 16, 16),))
    assert "conv2d" in compiled.spec and [t.name for t in compiled.model.inputs] == ["image"]
    image = torch.randn(3, 3, 16, 16)  # another batch than the example's
    got = compiled(image)
    with torch.no_grad():
        want = module(image)
    assert isinstance(got, tuple) and len(got) == 2
    for g, w in zip(got, want):
        assert isinstance(g, torch.Tensor)
        assert_close(g.numpy(), w.numpy(), REL_L2_TOLERANCE)


def test_torch_export_round_trips(tmp_path):
    module = randomize(TinyResNet(), seed=3)
    path = tmp_path / "w.safetensors"
    spire.torch.export(module, str(path))
    text = spire.torch.to_spec(module, {"image": torch.zeros(1, 3, 16, 16)})
    from_file = spire.Model(spire.compile(text, weights=path))
    from_memory = spire.Model(spire.compile(text, weights=module.state_dict()))
    image = np.random.default_rng(4).standard_normal((2, 3, 16, 16), dtype=np.float32)
    a, b = from_file(image=image), from_memory(image=image)
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_to_spec_blocks_compute_what_flat_layers_do():
    module = randomize(torchvision.models.resnet18(), seed=5)
    example = (torch.zeros(1, 3, 32, 32),)
    blocked = spire.torch.to_spec(module, example)
    flat = spire.torch.to_spec(module, example, flat=True)
    assert "repeat: 2" in blocked and "blocks:" not in flat
    image = np.random.default_rng(6).standard_normal((2, 3, 32, 32), dtype=np.float32)
    a, b = (spire.Model(spire.compile(text, weights=module.state_dict()))(x=image)
            for text in (blocked, flat))
    assert list(a) == list(b) == ["fc"]
    np.testing.assert_array_equal(a["fc"], b["fc"])


def test_resnet18_from_torchvision_on_a_numpy_batch():
    module = randomize(torchvision.models.resnet18(), seed=21)
    model = spire.Model(spire.compile(spec_path("specs/resnet18.yaml"),
                                      weights=module.state_dict()))
    batch = np.random.default_rng(22).standard_normal((2, 3, 224, 224), dtype=np.float32)
    got = model(image=batch)["fc"]
    with torch.no_grad():
        want = module(torch.from_numpy(batch)).numpy()
    assert got.shape == (2, 1000)
    assert_close(got, want, REL_L2_TOLERANCE)


class _BranchesOnValues(nn.Module):
    def forward(self, x):
        return x.relu() if x.sum() > 0 else x


class _DividesANumber(nn.Module):
    """2 / x, in a submodule the error names."""

    def __init__(self):
        super().__init__()
        self.inner = _Reciprocal()

    def forward(self, x):
        return self.inner(x.relu())


class _Reciprocal(nn.Module):
    def forward(self, x):
        return 2 / x


@pytest.mark.parametrize("module, message", [
    (_BranchesOnValues(), "torch.fx cannot trace _BranchesOnValues: .*must not branch"),
    (_DividesANumber(), r"inner: truediv: div of a number by a tensor"),
])
def test_torch_modules_a_spec_cannot_express_are_named(module, message):
    with pytest.raises(spire.SpecError, match=message):
        spire.torch.compile(module, (torch.randn(1, 4, 8, 8),))

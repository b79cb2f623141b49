"""The panel of real architectures inspect is judged on: Hugging Face ``transformers`` classes
with small configs and random init (no download), and hand-written residual and tanh nets.

torchvision's PyPI wheels do not load against the CPU build of PyTorch (``operator
torchvision::nms does not exist``) and transformers imports torchvision whenever it is
installed; the bridge's ``transformers_module`` hides a broken torchvision, which none of
these models needs.
"""

import importlib.util

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
nn = torch.nn

SEQ, BATCH, IMAGE = 16, 2, 32


def transformers():
    """The transformers module (through the bridge's own import of it, which hides a broken
    torchvision), or skip with the reason when it is not installed."""
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("transformers is in the 'reference' extra (pip install '.[reference]')")
    from initlab.torchbridge.interpret_panel import transformers_module

    return transformers_module()


def _tokens(vocab, batch=BATCH, seq=SEQ, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(0, vocab, (batch, seq), generator=g)}


def _image(batch=BATCH, size=IMAGE, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"pixel_values": torch.randn(batch, 3, size, size, generator=g)}


def gpt2(layers=4, batch=BATCH, **kw):
    T = transformers()
    c = T.GPT2Config(vocab_size=128, n_positions=64, n_embd=64, n_layer=layers, n_head=4,
                     bos_token_id=0, eos_token_id=0, **kw)
    return T.GPT2LMHeadModel(c), _tokens(128, batch)


def bert(batch=BATCH):
    T = transformers()
    c = T.BertConfig(vocab_size=128, hidden_size=64, num_hidden_layers=4, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=64)
    return T.BertModel(c), _tokens(128, batch)


def vit(batch=BATCH, size=IMAGE):
    T = transformers()
    c = T.ViTConfig(image_size=size, patch_size=8, hidden_size=64, num_hidden_layers=4,
                    num_attention_heads=4, intermediate_size=128, num_labels=10)
    return T.ViTForImageClassification(c), _image(batch, size)


def resnet(batch=BATCH, size=IMAGE):
    T = transformers()
    c = T.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[3, 3],
                       layer_type="bottleneck", num_labels=10)
    return T.ResNetForImageClassification(c), _image(batch, size)


def convnext(batch=BATCH, size=IMAGE):
    T = transformers()
    c = T.ConvNextConfig(num_stages=2, hidden_sizes=[16, 32], depths=[2, 2], num_labels=10)
    return T.ConvNextForImageClassification(c), _image(batch, size)


def llama(batch=BATCH):
    T = transformers()
    c = T.LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    return T.LlamaForCausalLM(c), _tokens(128, batch)


PANEL = {"gpt2": gpt2, "bert": bert, "vit": vit, "resnet": resnet, "convnext": convnext,
         "llama": llama}
IMAGES = ("vit", "resnet", "convnext")


class Block(nn.Module):
    """x + fc2(relu(fc1(x))), He-initialized; ``zero``: fc2's weight zero (Fixup, Zhang et al.
    2019; Goyal et al. 2017's zero-init of the last layer of each branch)."""

    def __init__(self, d, zero=False):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d)
        for m in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
        if zero:
            nn.init.zeros_(self.fc2.weight)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(x)))


def residual_mlp(zero=False, depth=10, width=64, batch=16):
    """A residual MLP without normalization: its stream doubles in variance per block."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, width), *[Block(width, zero) for _ in range(depth)],
                          nn.Linear(width, 10))
    return model, torch.randn(batch, 32)


def tanh_mlp(depth=20, width=64, batch=16):
    """A deep tanh MLP with normal(0.01) weights: the signal shrinks x(0.01 sqrt(64)) a layer."""
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        nn.init.normal_(lin.weight, std=0.01)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 10)), torch.randn(batch, width)

"""Galen PyTorch trainer: trains one classifier from .npy files and exports it to ONNX.

Galen's TypeScript side prepares the data, writes a JSON spec and starts this script as a
child process with `/usr/bin/python3 -u galen_trainer.py <spec.json>`. See README.md.

Contract
--------
* `--probe` prints one JSON line with the python/torch/onnx/numpy versions and exits 0
  (exits 1 with a message on stderr if torch or onnx cannot be imported).
* `<spec.json>`: relative paths in the spec are relative to the spec file's directory.
  Stdout carries JSON lines only (one object per line, flushed); human noise goes to stderr.
  Events: started, progress (at most ~1/s), epoch, log, done, error.
* Stdin is kept open by the parent. A background thread reads it; on EOF (the parent died)
  the trainer exits at once with os._exit(3). SIGTERM uses the default handler (immediate).
  `--no-stdin-watch` disables the watch for runs by hand with stdin redirected from /dev/null.
* Exit codes: 0 success (after `done`), 1 training/export error (after `error`),
  2 invalid spec (after `error` saying what is wrong and what is allowed), 3 parent gone.

The exported ONNX graph takes raw values (images as float32 pixel/255, sequences and vectors
as raw float32); each input's mean/std normalisation is baked into the graph. Inputs are named
after the spec's inputs (plus `<name>_lengths`, int64 [batch], after a sequence input); the one
output `probabilities` is float32 [batch, classes] (softmax inside the graph).

Only stdlib, numpy, torch and onnx are used.
"""

import argparse
import copy
import json
import math
import os
import platform
import random
import re
import sys
import threading
import time
import traceback
import warnings

EXIT_OK, EXIT_ERROR, EXIT_SPEC, EXIT_PARENT_GONE = 0, 1, 2, 3

ARCHITECTURES = {  # architecture -> kind of the FIRST input
    'cnn': 'image',
    'resnet18': 'image',
    'gru': 'sequence',
    'lstm': 'sequence',
    'transformer': 'sequence',
    'mlp': 'vector',
}
NETWORK_DEFAULTS = {'width': None, 'hidden': 64, 'layers': None, 'heads': 4, 'dropout': 0.1}
TRAINING_DEFAULTS = {
    'epochs': 10,
    'batchSize': 64,
    'learningRate': 0.001,
    'weightDecay': 0.0001,
    'classWeights': None,
    'patience': None,
    'selectBy': 'auroc',
}
AUGMENT_DEFAULTS = {
    'horizontalFlip': False,
    'verticalFlip': False,
    'rotateDegrees': 0,
    'cropPixels': 0,
    'intensity': 0,
}

# ----------------------------------------------------------------------------- events

_stdout_lock = threading.Lock()


def _clean(value):
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, 'item') and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(event, **fields):
    line = json.dumps(_clean({'event': event, **fields}), allow_nan=False, separators=(',', ':'))
    with _stdout_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def log(message, level='info'):
    emit('log', level=level, message=message)


def note(message):
    """Human noise: stderr only."""
    print(f'[galen-trainer] {message}', file=sys.stderr, flush=True)


def watch_stdin():
    """Exit at once when stdin reaches EOF (the parent process died)."""

    def run():
        try:
            while os.read(0, 65536):
                pass
        except OSError:
            pass
        note('stdin closed: parent is gone, exiting')
        os._exit(EXIT_PARENT_GONE)

    threading.Thread(target=run, name='stdin-watch', daemon=True).start()


# ----------------------------------------------------------------------------- spec


class SpecError(Exception):
    pass


def _num(obj, key, default, lo=None, hi=None, integer=False, where=''):
    value = obj.get(key, default)
    label = f'{where}{key}'
    if value is None:
        raise SpecError(f'{label} is required')
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f'{label} must be a number, got {type(value).__name__}')
    if integer and value != int(value):
        raise SpecError(f'{label} must be an integer, got {value}')
    if lo is not None and value < lo or hi is not None and value > hi:
        raise SpecError(f'{label} must be in [{lo}, {hi}], got {value}')
    return int(value) if integer else float(value)


def _float_list(value, length, label, positive=False):
    if not isinstance(value, list) or len(value) != length:
        raise SpecError(f'{label} must be a list of {length} numbers')
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SpecError(f'{label} must contain finite numbers only')
        if positive and v <= 0:
            raise SpecError(f'{label} must contain positive numbers only')
    return [float(v) for v in value]


def _path(base, value, label):
    if not isinstance(value, str) or not value:
        raise SpecError(f'{label} must be a non-empty file path string')
    return value if os.path.isabs(value) else os.path.join(base, value)


def _only(obj, allowed, label):
    if not isinstance(obj, dict):
        raise SpecError(f'{label} must be an object')
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise SpecError(f'{label} has unknown keys {unknown}; allowed: {sorted(allowed)}')


def parse_spec(path):
    """Reads and validates the spec; returns a normalised dict with absolute paths."""
    try:
        with open(path, 'r', encoding='utf-8') as f:
            raw = json.load(f)
    except OSError as e:
        raise SpecError(f'cannot read spec file: {e.strerror}')
    except json.JSONDecodeError as e:
        raise SpecError(f'spec is not valid JSON: {e.msg} at line {e.lineno}')
    base = os.path.dirname(os.path.abspath(path))
    _only(
        raw,
        ['version', 'seed', 'threads', 'architecture', 'classes', 'inputs', 'labels', 'training']
        + ['augment', 'network', 'export'],
        'spec',
    )
    if raw.get('version') != 1:
        raise SpecError(f'version must be 1, got {raw.get("version")!r}')
    spec = {
        'seed': _num(raw, 'seed', 0, 0, 2**31 - 1, True),
        'threads': _num(raw, 'threads', max(1, os.cpu_count() or 1), 1, 256, True),
        'classes': _num(raw, 'classes', None, 2, 10000, True),
    }
    arch = raw.get('architecture')
    if arch not in ARCHITECTURES:
        raise SpecError(f'architecture must be one of {list(ARCHITECTURES)}, got {arch!r}')
    spec['architecture'] = arch

    # inputs
    inputs = raw.get('inputs')
    if not isinstance(inputs, list) or not 1 <= len(inputs) <= 2:
        raise SpecError('inputs must be a list of one or two input objects')
    names = set()
    spec['inputs'] = []
    for i, inp in enumerate(inputs):
        where = f'inputs[{i}].'
        if not isinstance(inp, dict):
            raise SpecError(f'inputs[{i}] must be an object')
        kind = inp.get('kind')
        name = inp.get('name')
        if not isinstance(name, str) or not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]{0,63}', name):
            raise SpecError(f'{where}name must match [A-Za-z_][A-Za-z0-9_]* (max 64 chars), got {name!r}')
        common = ['name', 'kind', 'mean', 'std', 'train', 'validation']
        out = {'name': name, 'kind': kind}
        if kind == 'image':
            _only(inp, common + ['shape'], f'inputs[{i}]')
            shape = inp.get('shape')
            if (
                not isinstance(shape, list)
                or len(shape) != 3
                or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
            ):
                raise SpecError(f'{where}shape must be [channels, height, width] of positive integers')
            if shape[0] > 16 or shape[1] < 8 or shape[2] < 8 or shape[1] > 1024 or shape[2] > 1024:
                raise SpecError(f'{where}shape must have 1-16 channels and height/width in [8, 1024]')
            out['shape'] = shape
            width = shape[0]
        elif kind in ('sequence', 'vector'):
            extra = ['features'] + (
                ['maxLength', 'trainLengths', 'validationLengths'] if kind == 'sequence' else []
            )
            _only(inp, common + extra, f'inputs[{i}]')
            width = out['features'] = _num(inp, 'features', None, 1, 100000, True, where)
            if kind == 'sequence':
                out['maxLength'] = _num(inp, 'maxLength', None, 1, 100000, True, where)
                out['trainLengths'] = _path(base, inp.get('trainLengths'), where + 'trainLengths')
                out['validationLengths'] = _path(
                    base, inp.get('validationLengths'), where + 'validationLengths'
                )
        else:
            raise SpecError(f"{where}kind must be 'image', 'sequence' or 'vector', got {kind!r}")
        per = 'channel' if kind == 'image' else 'feature'
        out['mean'] = _float_list(inp.get('mean'), width, f'{where}mean (one per {per})')
        out['std'] = _float_list(inp.get('std'), width, f'{where}std (one per {per})', positive=True)
        out['train'] = _path(base, inp.get('train'), where + 'train')
        out['validation'] = _path(base, inp.get('validation'), where + 'validation')
        reserved = {'probabilities'} | {n + '_lengths' for n in names}
        if name in names or name in reserved or (kind == 'sequence' and name + '_lengths' in names):
            raise SpecError(f'{where}name {name!r} clashes with another ONNX input/output name')
        names.add(name)
        if kind == 'sequence':
            names.add(name + '_lengths')
        spec['inputs'].append(out)

    first = spec['inputs'][0]['kind']
    if first != ARCHITECTURES[arch]:
        allowed = ', '.join(f'{a} -> {k}' for a, k in ARCHITECTURES.items())
        raise SpecError(
            f'architecture {arch!r} needs a first input of kind {ARCHITECTURES[arch]!r}, got {first!r} '
            f'(architecture -> first input kind: {allowed})'
        )
    if len(spec['inputs']) == 2 and spec['inputs'][1]['kind'] != 'vector':
        raise SpecError(
            "the second input (multimodal) must be of kind 'vector', "
            f"got {spec['inputs'][1]['kind']!r}"
        )

    labels = raw.get('labels')
    _only(labels, ['train', 'validation'], 'labels')
    spec['labels'] = {k: _path(base, labels.get(k), f'labels.{k}') for k in ('train', 'validation')}

    # training
    training = raw.get('training') or {}
    _only(training, TRAINING_DEFAULTS, 'training')
    t = {**TRAINING_DEFAULTS, **{k: v for k, v in training.items() if v is not None}}
    w = 'training.'
    spec['training'] = tr = {
        'epochs': _num(t, 'epochs', None, 1, 10000, True, w),
        'batchSize': _num(t, 'batchSize', None, 1, 65536, True, w),
        'learningRate': _num(t, 'learningRate', None, 1e-8, 10, False, w),
        'weightDecay': _num(t, 'weightDecay', None, 0, 10, False, w),
        'patience': None if t['patience'] is None else _num(t, 'patience', None, 1, 10000, True, w),
    }
    if t['selectBy'] not in ('auroc', 'loss'):
        raise SpecError(f"training.selectBy must be 'auroc' or 'loss', got {t['selectBy']!r}")
    tr['selectBy'] = t['selectBy']
    cw = t['classWeights']
    if cw is None or cw == 'balanced':
        tr['classWeights'] = cw
    else:
        tr['classWeights'] = _float_list(
            cw, spec['classes'], "training.classWeights (one per class, or null, or 'balanced')", True
        )

    # augmentation
    augment = raw.get('augment')
    if augment is not None:
        _only(augment, AUGMENT_DEFAULTS, 'augment')
        a = {**AUGMENT_DEFAULTS, **{k: v for k, v in augment.items() if v is not None}}
        if first != 'image' and any(a.values()):
            raise SpecError('augment is only supported for image inputs; set it to null (or all off)')
        for k in ('horizontalFlip', 'verticalFlip'):
            if not isinstance(a[k], bool):
                raise SpecError(f'augment.{k} must be true or false')
        augment = {
            'horizontalFlip': a['horizontalFlip'],
            'verticalFlip': a['verticalFlip'],
            'rotateDegrees': _num(a, 'rotateDegrees', 0, 0, 180, False, 'augment.'),
            'cropPixels': _num(a, 'cropPixels', 0, 0, 64, True, 'augment.'),
            'intensity': _num(a, 'intensity', 0, 0, 0.9, False, 'augment.'),
        }
    spec['augment'] = augment

    # network
    network = raw.get('network') or {}
    _only(network, NETWORK_DEFAULTS, 'network')
    n = {**NETWORK_DEFAULTS, **{k: v for k, v in network.items() if v is not None}}
    if n['width'] is None:
        n['width'] = 64 if arch == 'resnet18' else 32
    if n['layers'] is None:
        n['layers'] = 2 if arch == 'mlp' else 1
    spec['network'] = net = {
        'width': _num(n, 'width', None, 4, 512, True, 'network.'),
        'hidden': _num(n, 'hidden', None, 4, 4096, True, 'network.'),
        'layers': _num(n, 'layers', None, 1, 16, True, 'network.'),
        'heads': _num(n, 'heads', None, 1, 64, True, 'network.'),
        'dropout': _num(n, 'dropout', None, 0, 0.9, False, 'network.'),
    }
    if arch == 'transformer' and net['hidden'] % net['heads']:
        raise SpecError(
            f"network.hidden ({net['hidden']}) must be divisible by network.heads ({net['heads']}) "
            'for the transformer'
        )

    # export
    export = raw.get('export') or {}
    _only(export, ['onnx', 'opset', 'referenceCount', 'reference'], 'export')
    spec['export'] = {
        'onnx': _path(base, export.get('onnx', 'model.onnx'), 'export.onnx'),
        'onnxName': export.get('onnx', 'model.onnx'),
        'opset': _num(export, 'opset', 17, 13, 17, True, 'export.'),
        'referenceCount': _num(export, 'referenceCount', 32, 0, 100000, True, 'export.'),
        'reference': _path(base, export.get('reference', 'reference_probabilities.npy'), 'export.reference'),
        'referenceName': export.get('reference', 'reference_probabilities.npy'),
    }
    return spec


# ----------------------------------------------------------------------------- data


def load_data(spec, np):
    """Loads and checks every array; returns {'train': split, 'validation': split}."""

    def load(path, label):
        if not os.path.isfile(path):
            raise SpecError(f'{label}: file not found ({os.path.basename(path)})')
        try:
            return np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - report which file is unreadable
            raise SpecError(f'{label}: not a readable .npy file ({type(e).__name__})')

    def integral(arr, label):
        if arr.dtype.kind not in 'iu':
            raise SpecError(f'{label} must have an integer dtype (int64), got {arr.dtype}')
        return arr.astype(np.int64)

    splits = {}
    for split in ('train', 'validation'):
        labels = integral(load(spec['labels'][split], f'labels.{split}'), f'labels.{split}')
        labels = labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1 else labels
        if labels.ndim != 1 or len(labels) == 0:
            raise SpecError(f'labels.{split} must be a non-empty 1-D array, got shape {list(labels.shape)}')
        if labels.min() < 0 or labels.max() >= spec['classes']:
            raise SpecError(f"labels.{split} must be in 0..{spec['classes'] - 1}")
        count = len(labels)
        arrays = []
        for i, inp in enumerate(spec['inputs']):
            label = f'inputs[{i}].{split}'
            arr = load(inp[split], label)
            if arr.shape[:1] != (count,):
                rows = arr.shape[0] if arr.ndim else 0
                raise SpecError(f'{label} has {rows} rows, labels.{split} has {count}')
            if inp['kind'] == 'image':
                c, h, w = inp['shape']
                if arr.ndim == 3 and c == 1:
                    arr = arr[:, None]
                if arr.dtype != np.uint8:
                    raise SpecError(f'{label} must be uint8 (0-255), got {arr.dtype}')
                if list(arr.shape[1:]) != [c, h, w]:
                    raise SpecError(f'{label} must have shape [N, {c}, {h}, {w}], got {list(arr.shape)}')
                arrays.append(np.ascontiguousarray(arr))
            elif inp['kind'] == 'sequence':
                f, max_len = inp['features'], inp['maxLength']
                if arr.ndim != 3 or arr.shape[2] != f or arr.shape[1] > max_len:
                    raise SpecError(
                        f'{label} must have shape [N, L, {f}] with L <= maxLength {max_len}, '
                        f'got {list(arr.shape)}'
                    )
                key = split + 'Lengths'
                lengths = integral(load(inp[key], f'inputs[{i}].{key}'), f'inputs[{i}].{key}').reshape(-1)
                if len(lengths) != count or lengths.min() < 1 or lengths.max() > arr.shape[1]:
                    raise SpecError(f'inputs[{i}].{key} must hold {count} lengths in 1..{arr.shape[1]}')
                arr = np.ascontiguousarray(arr, dtype=np.float32)
                if not np.isfinite(arr).all():
                    raise SpecError(f'{label} contains non-finite values')
                arrays += [arr, lengths]
            else:
                if arr.ndim != 2 or arr.shape[1] != inp['features']:
                    raise SpecError(f"{label} must have shape [N, {inp['features']}], got {list(arr.shape)}")
                arr = np.ascontiguousarray(arr, dtype=np.float32)
                if not np.isfinite(arr).all():
                    raise SpecError(f'{label} contains non-finite values')
                arrays.append(arr)
        splits[split] = {'arrays': arrays, 'labels': labels, 'count': count}
    return splits


# ----------------------------------------------------------------------------- metrics


def auroc(scores, labels, np):
    """Rank-based (Mann-Whitney) AUROC of class 1 with ties averaged; None if one class only."""
    labels = np.asarray(labels) == 1
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind='mergesort')
    sorted_scores = np.asarray(scores)[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average ranks over runs of equal scores
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(scores)]])
    avg = (starts + ends + 1) / 2.0  # 1-based average rank of each run
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


# ----------------------------------------------------------------------------- models


def build_model(spec, torch):
    nn = torch.nn
    F = torch.nn.functional
    net = spec['network']
    classes = spec['classes']
    dropout = net['dropout']

    class Normalize(nn.Module):
        """(x - mean) / std with per-channel (image) or per-feature (sequence/vector) constants."""

        def __init__(self, mean, std, view):
            super().__init__()
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(*view))
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(*view))

        def forward(self, x):
            return (x - self.mean) / self.std

    def conv_bn(cin, cout, stride=1, k=3):
        return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]

    class SmallCNN(nn.Module):
        """conv-BN-ReLU x2 + max-pool per stage; 3 stages (4 from 64 px); global average pool."""

        def __init__(self, shape, width):
            super().__init__()
            c, h, w = shape
            chans = [width, width * 2, width * 4] + ([width * 4] if min(h, w) >= 64 else [])
            layers, cin = [], c
            for cout in chans:
                layers += conv_bn(cin, cout) + [nn.ReLU(inplace=True)]
                layers += conv_bn(cout, cout) + [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
                cin = cout
            self.features = nn.Sequential(*layers)
            self.out_features = cin

        def forward(self, x):
            return self.features(x).mean(dim=(2, 3))

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, stride), nn.ReLU(inplace=True), *conv_bn(cout, cout))
            projection = stride != 1 or cin != cout
            self.shortcut = nn.Sequential(*conv_bn(cin, cout, stride, k=1)) if projection else nn.Identity()

        def forward(self, x):
            return F.relu(self.body(x) + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self, shape, width):
            super().__init__()
            c, h, w = shape
            if min(h, w) < 64:
                stem = conv_bn(c, width, 1, 3) + [nn.ReLU(inplace=True)]
            else:
                stem = conv_bn(c, width, 2, 7) + [nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
            blocks, cin = [], width
            for i, cout in enumerate([width, width * 2, width * 4, width * 8]):
                for j in range(2):
                    blocks.append(BasicBlock(cin, cout, 2 if i > 0 and j == 0 else 1))
                    cin = cout
            self.features = nn.Sequential(*stem, *blocks)
            self.out_features = cin

        def forward(self, x):
            return self.features(x).mean(dim=(2, 3))

    class Recurrent(nn.Module):
        """GRU/LSTM; embedding = output at the last valid step (lengths - 1)."""

        def __init__(self, cell, features, hidden, layers):
            super().__init__()
            rnn = nn.GRU if cell == 'gru' else nn.LSTM
            self.rnn = rnn(features, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
            self.out_features = hidden

        def forward(self, x, lengths, mask):
            out, _ = self.rnn(x)
            index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, out.size(2))
            return out.gather(1, index).squeeze(1)

    class EncoderLayer(nn.Module):
        """Pre-LN transformer encoder layer with explicit attention (exports cleanly to ONNX)."""

        def __init__(self, d, heads):
            super().__init__()
            self.heads, self.head_dim = heads, d // heads
            self.scale = 1.0 / math.sqrt(d // heads)
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * d, d))
            self.drop = nn.Dropout(dropout)

        def forward(self, x, key_bias):
            b, n = x.shape[0], x.shape[1]
            qkv = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)  # each [B, heads, L, head_dim]
            scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale + key_bias
            attn = self.drop(torch.softmax(scores, dim=-1))
            y = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, self.heads * self.head_dim)
            x = x + self.drop(self.proj(y))
            return x + self.drop(self.ff(self.norm2(x)))

    class Transformer(nn.Module):
        def __init__(self, features, max_length, d, heads, layers):
            super().__init__()
            self.embed = nn.Linear(features, d)
            self.position = nn.Parameter(torch.randn(1, max_length, d) * 0.02)
            self.layers = nn.ModuleList([EncoderLayer(d, heads) for _ in range(layers)])
            self.norm = nn.LayerNorm(d)
            self.out_features = d

        def forward(self, x, lengths, mask):
            x = self.embed(x) + self.position[:, : x.size(1)]
            key_bias = ((1.0 - mask) * -1e9).unsqueeze(1).unsqueeze(1)  # [B, 1, 1, L]
            for layer in self.layers:
                x = layer(x, key_bias)
            x = self.norm(x) * mask.unsqueeze(2)
            return x.sum(dim=1) / mask.sum(dim=1, keepdim=True)

    def mlp(features, hidden, layers):
        body, cin = [], features
        for _ in range(layers):
            body += [nn.Linear(cin, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            cin = hidden
        seq = nn.Sequential(*body)
        seq.out_features = cin
        return seq

    class GalenModel(nn.Module):
        """Takes exactly the ONNX inputs (raw values), returns logits; export adds softmax."""

        def __init__(self):
            super().__init__()
            first = spec['inputs'][0]
            arch = spec['architecture']
            self.kind = first['kind']
            if self.kind == 'image':
                self.norm = Normalize(first['mean'], first['std'], (1, -1, 1, 1))
                cls = SmallCNN if arch == 'cnn' else ResNet18
                self.body = cls(first['shape'], net['width'])
            elif self.kind == 'sequence':
                self.norm = Normalize(first['mean'], first['std'], (1, 1, -1))
                if arch == 'transformer':
                    self.body = Transformer(
                        first['features'], first['maxLength'], net['hidden'], net['heads'], net['layers']
                    )
                else:
                    self.body = Recurrent(arch, first['features'], net['hidden'], net['layers'])
            else:
                self.norm = Normalize(first['mean'], first['std'], (1, -1))
                self.body = mlp(first['features'], net['hidden'], net['layers'])
            width = self.body.out_features
            self.has_side = len(spec['inputs']) == 2
            if self.has_side:
                side = spec['inputs'][1]
                self.side_norm = Normalize(side['mean'], side['std'], (1, -1))
                self.side = mlp(side['features'], min(net['hidden'], 64), 2)
                width += self.side.out_features
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, classes))

        def forward(self, *inputs):
            if self.kind == 'sequence':
                x, lengths = inputs[0], inputs[1]
                rest = inputs[2:]
                steps = torch.arange(x.size(1), dtype=lengths.dtype, device=x.device)
                mask = (steps.unsqueeze(0) < lengths.unsqueeze(1)).to(x.dtype)  # [B, L]
                x = self.norm(x) * mask.unsqueeze(2)  # padding stays exactly zero
                z = self.body(x, lengths, mask)
            else:
                z = self.body(self.norm(inputs[0]))
                rest = inputs[1:]
            if self.has_side:
                z = torch.cat([z, self.side(self.side_norm(rest[0]))], dim=1)
            return self.head(z)

    class Exported(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return torch.softmax(self.model(*inputs), dim=1)

    model = GalenModel()
    return model, Exported(model)


# ----------------------------------------------------------------------------- augmentation


def augment_images(x, aug, gen, torch):
    """Batched augmentation of float images in [0, 1], shape [B, C, H, W]."""
    F = torch.nn.functional
    b, _, h, w = x.shape

    def coin():
        return (torch.rand(b, generator=gen) < 0.5).view(b, 1, 1, 1)

    if aug['horizontalFlip']:
        x = torch.where(coin(), x.flip(3), x)
    if aug['verticalFlip']:
        x = torch.where(coin(), x.flip(2), x)
    degrees, crop = aug['rotateDegrees'], aug['cropPixels']
    if degrees > 0 or crop > 0:
        angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(degrees)
        cos, sin = torch.cos(angle), torch.sin(angle)
        # pad by `crop` pixels and crop back == integer shift in [-crop, crop], zero fill
        shift = torch.randint(-crop, crop + 1, (b, 2), generator=gen).float()
        theta = torch.stack(
            [
                torch.stack([cos, -sin * h / w, shift[:, 0] * 2 / w], 1),
                torch.stack([sin * w / h, cos, shift[:, 1] * 2 / h], 1),
            ],
            1,
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    if aug['intensity'] > 0:
        s = aug['intensity']
        contrast = 1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * s
        brightness = 1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * s
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean) * brightness
        x = x.clamp(0, 1)
    return x


# ----------------------------------------------------------------------------- training


def run(spec):
    import numpy as np
    import torch
    import torch.nn.functional as F
    import onnx

    started = time.time()
    seed = spec['seed']
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(spec['threads'])

    data = load_data(spec, np)
    train, val = data['train'], data['validation']
    tr = spec['training']
    classes = spec['classes']

    model, exported = build_model(spec, torch)
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    emit(
        'started',
        python=platform.python_version(),
        torch=torch.__version__,
        threads=spec['threads'],
        parameters=parameters,
        trainSamples=train['count'],
        validationSamples=val['count'],
    )

    image_first = spec['inputs'][0]['kind'] == 'image'

    def tensors(split):
        return [torch.from_numpy(a) for a in split['arrays']]

    train_t, val_t = tensors(train), tensors(val)
    train_y, val_y = torch.from_numpy(train['labels']), torch.from_numpy(val['labels'])

    def model_inputs(arrays, index):
        """Slices a batch and converts it to exactly what the ONNX graph receives."""
        batch = [a[index] for a in arrays]
        if image_first:
            batch[0] = batch[0].float() / 255.0
        return batch

    weights = tr['classWeights']
    if weights == 'balanced':
        counts = np.bincount(train['labels'], minlength=classes).astype(np.float64)
        weights = [train['count'] / (classes * c) if c > 0 else 0.0 for c in counts]
        log('balanced class weights: ' + ', '.join(f'{w:.3f}' for w in weights))
    weight_t = None if weights is None else torch.tensor(weights, dtype=torch.float32)
    select_by = tr['selectBy']
    if select_by == 'auroc' and classes != 2:
        log(f'selectBy auroc needs 2 classes (got {classes}); selecting by validation loss', 'warn')
        select_by = 'loss'
    elif select_by == 'auroc' and len(np.unique(val['labels'])) < 2:
        log('validation labels hold a single class: AUROC undefined, selecting by validation loss', 'warn')
        select_by = 'loss'

    batch_size = tr['batchSize']
    batches = max(1, math.ceil(train['count'] / batch_size))
    epochs = tr['epochs']
    total_steps = epochs * batches
    warmup = min(batches, max(1, total_steps // 20))
    optimizer = torch.optim.AdamW(model.parameters(), lr=tr['learningRate'], weight_decay=tr['weightDecay'])

    def lr_factor(step):  # linear warm-up, then cosine decay to 0
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    gen = torch.Generator().manual_seed(seed)
    aug = spec['augment']
    if aug and not any(aug[k] for k in aug):
        aug = None

    def evaluate():
        model.eval()
        losses, probs = [], []
        with torch.no_grad():
            for start in range(0, val['count'], max(256, batch_size)):
                index = torch.arange(start, min(val['count'], start + max(256, batch_size)))
                logits = model(*model_inputs(val_t, index))
                losses.append(F.cross_entropy(logits, val_y[index], weight=weight_t, reduction='none'))
                probs.append(torch.softmax(logits, 1))
        probs = torch.cat(probs).numpy()
        per_sample = torch.cat(losses)
        if weight_t is None:
            loss = per_sample.mean().item()
        else:  # same normalisation as the weighted training loss
            loss = (per_sample.sum() / weight_t[val_y].sum()).item()
        accuracy = float((probs.argmax(1) == val['labels']).mean())
        auc = auroc(probs[:, 1], val['labels'], np) if classes == 2 else None
        return loss, auc, accuracy

    best = None  # (score, epoch, state)
    since_best = 0
    last_progress = 0.0
    epochs_run = 0
    for epoch in range(1, epochs + 1):
        epoch_start = time.time()
        model.train()
        order = torch.randperm(train['count'], generator=gen)
        loss_sum, loss_count = 0.0, 0
        for b in range(batches):
            index = order[b * batch_size : (b + 1) * batch_size]
            if len(index) < 2 and b > 0:  # BatchNorm cannot train on a single sample
                continue
            inputs = model_inputs(train_t, index)
            if aug is not None:
                inputs[0] = augment_images(inputs[0], aug, gen, torch)
            loss = F.cross_entropy(model(*inputs), train_y[index], weight=weight_t)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if not math.isfinite(loss.item()):
                raise RuntimeError(
                    f'training loss is not finite at epoch {epoch}, batch {b + 1}; lower the learning rate'
                )
            loss_sum += loss.item() * len(index)
            loss_count += len(index)
            now = time.time()
            if now - last_progress >= 1.0:
                last_progress = now
                emit(
                    'progress',
                    fraction=round(((epoch - 1) + (b + 1) / batches) / epochs, 4),
                    stage=f'epoch {epoch}/{epochs}, batch {b + 1}/{batches}',
                )
        val_loss, val_auc, val_acc = evaluate()
        epochs_run = epoch
        emit(
            'epoch',
            epoch=epoch,
            epochs=epochs,
            trainLoss=round(loss_sum / max(1, loss_count), 6),
            validationLoss=round(val_loss, 6),
            validationAuroc=None if val_auc is None else round(val_auc, 6),
            validationAccuracy=round(val_acc, 6),
            learningRate=optimizer.param_groups[0]['lr'],
            seconds=round(time.time() - epoch_start, 3),
        )
        score = (val_auc, -val_loss) if select_by == 'auroc' else -val_loss  # loss breaks AUROC ties
        if not math.isfinite(val_loss):
            raise RuntimeError(f'validation loss is not finite at epoch {epoch}; lower the learning rate')
        if best is None or score > best[0]:
            best = (score, epoch, copy.deepcopy(model.state_dict()))
            since_best = 0
        else:
            since_best += 1
            if tr['patience'] is not None and since_best >= tr['patience']:
                log(f'early stopping after epoch {epoch}: no improvement for {since_best} epochs')
                break

    model.load_state_dict(best[2])
    log(f'restored best epoch {best[1]} (selected by validation {select_by})')
    emit('progress', fraction=1.0, stage='exporting ONNX')

    # ------------------------------------------------------------------ export
    exp = spec['export']
    exported.eval()
    names, dynamic = [], {'probabilities': {0: 'batch'}}
    for inp in spec['inputs']:
        names.append(inp['name'])
        dynamic[inp['name']] = {0: 'batch', 1: 'length'} if inp['kind'] == 'sequence' else {0: 'batch'}
        if inp['kind'] == 'sequence':
            names.append(inp['name'] + '_lengths')
            dynamic[inp['name'] + '_lengths'] = {0: 'batch'}
    count = min(exp['referenceCount'], val['count'])
    sample_index = torch.arange(min(val['count'], 2))
    example = tuple(model_inputs(val_t, sample_index))
    os.makedirs(os.path.dirname(exp['onnx']) or '.', exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer/shape-inference chatter; parity is checked by Galen
        torch.onnx.export(
            exported,
            example,
            exp['onnx'],
            input_names=names,
            output_names=['probabilities'],
            dynamic_axes=dynamic,
            opset_version=exp['opset'],
            do_constant_folding=True,
        )
    onnx.checker.check_model(onnx.load(exp['onnx']))
    with torch.no_grad():
        reference = exported(*model_inputs(val_t, torch.arange(count))).numpy().astype(np.float32)
    os.makedirs(os.path.dirname(exp['reference']) or '.', exist_ok=True)
    np.save(exp['reference'], reference.reshape(count, classes))
    emit(
        'done',
        onnx=exp['onnxName'],
        reference=exp['referenceName'],
        referenceCount=count,
        bestEpoch=best[1],
        epochsRun=epochs_run,
        parameters=parameters,
        seconds=round(time.time() - started, 3),
        opset=exp['opset'],
    )


# ----------------------------------------------------------------------------- main


def probe():
    try:
        import numpy
        import onnx
        import torch
    except Exception as e:  # noqa: BLE001
        print(f'galen-trainer probe failed: cannot import {e}', file=sys.stderr)
        return EXIT_ERROR
    emit_line = {
        'python': platform.python_version(),
        'torch': torch.__version__,
        'onnx': onnx.__version__,
        'numpy': numpy.__version__,
    }
    sys.stdout.write(json.dumps(emit_line) + '\n')
    sys.stdout.flush()
    return EXIT_OK


def main(argv=None):
    parser = argparse.ArgumentParser(description='Galen PyTorch trainer (see README.md)')
    parser.add_argument('spec', nargs='?', help='path to spec.json')
    parser.add_argument('--probe', action='store_true', help='print library versions as JSON and exit')
    parser.add_argument(
        '--no-stdin-watch', action='store_true', help='do not exit when stdin closes (runs by hand)'
    )
    args = parser.parse_args(argv)
    if args.probe:
        return probe()
    if not args.spec:
        parser.error('a spec.json path (or --probe) is required')
    if not args.no_stdin_watch:
        watch_stdin()
    try:
        spec = parse_spec(args.spec)
        run(spec)
        return EXIT_OK
    except SpecError as e:
        emit('error', message=f'invalid spec: {e}')
        return EXIT_SPEC
    except ImportError as e:
        emit('error', message=f'cannot import a required library: {e.name or e}')
        return EXIT_ERROR
    except MemoryError:
        emit('error', message='out of memory')
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - report every failure as an event
        traceback.print_exc(file=sys.stderr)
        emit('error', message=f'{type(e).__name__}: {str(e)[:500]}')
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())

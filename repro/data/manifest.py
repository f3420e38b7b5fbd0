"""Dataset manifests: which files make up each dataset, their checksums, and where they come from.

Every dataset the reproduction reads lives in a folder under the data root (see :func:`repro.paths.data_root`).
For each one this module records

* the files (path relative to the data root, size in bytes, sha256), copied from the ``SOURCE.md`` that came with
  the verified copy of the data;
* the canonical public source(s): mostly the URLs that SentEval's ``data/downstream/get_transfer_data.bash``
  (facebookresearch/SentEval) downloads, plus the official release pages where SentEval has none;
* how the members of those archives map to our layout (``FileEntry.members``), and a note where a source cannot
  give the exact files (SentEval post-processes MR/CR/SUBJ/MPQA/SNLI with its own tokenizer; AFS has no direct
  download link; the SNLI/MultiNLI training data and the Wikipedia-sections triplets are not in the data root).

Functions: :func:`verify` / :func:`verify_all` (missing file, size or sha256 mismatch; each problem names the file),
:func:`install_from_archive` (copy the members of a zip, tar.gz, plain file or folder into the layout, keeping only
bytes whose sha256 matches, always writing through a temporary file and ``os.replace``) and :func:`fetch`
(download the sources into a temporary folder, then install). ``data_scripts/fetch_data.py`` is the CLI.

Members are matched by name (exactly, or as a path suffix, so ``x/y/stsbenchmark/sts-dev.csv`` matches
``stsbenchmark/sts-dev.csv``) and then by content: when several members could be a file (the SICK zips each hold a
``readme.txt``; a SentEval tree holds tokenized copies of the STS files under the same names) the one whose
sha256 matches wins, so a wrong version is never installed.

Why not ``pooch`` (its ``retrieve`` + ``known_hash`` + ``Unzip``/``Untar``; checked against pooch 1.9.0): it pins one
digest per *downloaded* file, and the pins here are per *installed* file (the 99 files of the verified copy), not
per archive (no archive digest is known for most sources, several have mirrors). Its processors extract members by
exact name or folder prefix with ``extractall`` straight into the target folder, so they cannot (1) check each
member's sha256 or choose, among same-named members, the one whose bytes match (the SICK zips' ``readme.txt``,
SentEval's tokenized STS copies), (2) rename into this layout (``STS1x-en-test`` folders) or derive a file
(TREC without quotes), (3) write each file through a temporary file and ``os.replace``: an interrupted extract
leaves a partial file, and their skip rule is "the file exists", so a truncated file is never extracted again.
What pooch would serve is :func:`_download` (a temporary file moved into place; about 20 lines), at the price of
``requests`` (not otherwise installed: ``import requests`` fails in the project's environment) and of its
``requests`` errors in place of the one-line "download it by hand and run ... --from-archive FILE" message.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from repro.data.io import FETCH_SCRIPT
from repro.errors import ConfigError, DataError
from repro.paths import data_root, file_mode, file_sha256

CHUNK = 1 << 20
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")
DOWNLOADABLE = ("zip", "tar.gz", "file")



# ------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class FileEntry:
    """One file of a dataset.

    ``path`` is relative to the data root (POSIX separators). ``members`` are archive member names (matched
    exactly or as a path suffix) this file may come from, besides the defaults every file gets: its own ``path``,
    its path inside the dataset folder, and its base name. ``pinned=False`` marks an auxiliary file whose bytes
    may legitimately differ between copies (it must exist, but its size and sha256 are not checked).
    ``derive`` = (other file, transform name): the file can be computed from another file of the same dataset.
    """

    path: str
    size: int
    sha256: str
    members: tuple[str, ...] = ()
    pinned: bool = True
    derive: tuple[str, str] | None = None
    note: str = ""
    first_use: bool = False  # no sha256 can be pinned: the one of the first install is recorded and checked after


@dataclass(frozen=True)
class Source:
    """A canonical public place a dataset's files come from.

    ``kind``: ``zip``, ``tar.gz`` or ``file`` (downloaded by :func:`fetch`); ``msi`` (an installer that needs
    ``cabextract``/``msiextract``) or ``page`` (a landing page, no direct link) are for a person to follow.
    ``filename`` is the name the download is saved under. ``note`` says how members map to our layout.
    """

    url: str
    filename: str
    kind: str
    note: str = ""


@dataclass(frozen=True)
class Dataset:
    """A dataset folder under the data root: its files, sources, license pointer and caveats."""

    name: str
    title: str
    files: tuple[FileEntry, ...]
    sources: tuple[Source, ...]
    license: str
    note: str = ""
    fetchable: bool = True
    manual: str = ""


class ChecksumMismatch(DataError):
    """Bytes written by :func:`atomic_write` did not have the expected size / sha256 (nothing was written)."""

    def __init__(self, message: str, path: str | Path | None, sha256: str, size: int):
        super().__init__(message, path)
        self.sha256 = sha256
        self.size = size


# ------------------------------------------------------------------------------------------ the manifest

# (path inside the dataset folder, size in bytes, sha256), copied from each dataset's SOURCE.md.
_FILES: dict[str, tuple[tuple[str, int, str], ...]] = {
    "stsb": (
        ("LICENSE.txt", 6641, "3dfc3217395f8c5dd05c5f8995f25fe2f8fd258e6dd770b3de480749caee8c70"),
        ("readme.txt", 5994, "e9488363d211c32ca5e912954f16eb9233cfed1b5b4b0475d0d812d35d7c8ef1"),
        ("sts-dev.csv", 255680, "5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234"),
        ("sts-test.csv", 282419, "affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a"),
        ("sts-train.csv", 901177, "0f71910b59aa1ad973c5897f0791f3b0965a92b8f82b1a95f3eea9f4162fda82"),
    ),
    "sick": (
        ("SICK.txt", 2432648, "1539c2d059809b5bd40694e26d8121cc85b6b496f91c7b40f2fc83bbd7dcd957"),
        ("SICK_test_annotated.txt", 559979, "2b8aa806658d6fc23c6824c83776c2d4fee7556000817b5ec0f982861413b7d0"),
        ("SICK_train.txt", 506243, "266cf8047149bd1d68138dd30439f3122bff30069740ac6705bb6197d9f1b48e"),
        ("SICK_trial.txt", 57225, "5a88cfb62f8c6bd2a3cce0f2421ba2cb8c2be5ab4a800f6f01e2c64aafb7db56"),
        ("readme.txt", 1337, "4ff14a2b07603f2214c2803a6e012048c795be5ba4e5d1d33b87d7210f633bf7"),
    ),
    "sts": (
        ("STS12-en-test/00-readme.txt", 3002, "d47be1641ac98ac312de6f0746b65683df392f70d843eaac9fb10ebd4cb4cb63"),
        ("STS12-en-test/STS.gs.ALL.txt", 18648, "5bcbfda125ad56a1b924763482420b585bea9bf74dc2c18d88d62cd6d2e3422f"),
        ("STS12-en-test/STS.gs.MSRpar.txt", 4500, "5526be59228bc34ccb3cb6f1f56c0d7278d3419b8886713ae016fd92b151f19c"),
        ("STS12-en-test/STS.gs.MSRvid.txt", 4500, "9c6096c6bcfb0144c8bbddb00900ca9198c88498630cd0c8f08d18365f1d7150"),
        ("STS12-en-test/STS.gs.SMTeuroparl.txt", 2754,
         "708530c4d006d06881f3289fce35d624d7efe562dcf0fe5f8aa0eec3a135f6d4"),
        ("STS12-en-test/STS.gs.surprise.OnWN.txt", 4500,
         "088d8ca22c0aa406e4a5d2e6e308a4f38b482b8e736c2445a38ffb6e4c4fb4fd"),
        ("STS12-en-test/STS.gs.surprise.SMTnews.txt", 2394,
         "aa6dfc868db333c43dc59be14d46fa6587c7ebddc0d497e717f647bf35121cf1"),
        ("STS12-en-test/STS.input.MSRpar.txt", 163764,
         "76bf7089f9e7c05732163a227b3ce679512554513eb783f2548b07d659bd733d"),
        ("STS12-en-test/STS.input.MSRvid.txt", 48893,
         "476d14034a241f71b832e4ae557dd6cdbe265b57c915570a2583f93b4456948d"),
        ("STS12-en-test/STS.input.SMTeuroparl.txt", 59522,
         "dd31dbb6e7eef8a0d00347fe012f7cf372943167e30f60f6fb3b10219a41941f"),
        ("STS12-en-test/STS.input.surprise.OnWN.txt", 67373,
         "07ec7b91348aece0873b41f7fc4e76e9fddf05bdb82c048c98d92f5db0bec07d"),
        ("STS12-en-test/STS.input.surprise.SMTnews.txt", 58678,
         "2788a98ef33c3b7b704ef4891fe863cfcf061338e8aa41cb737d0f137f3ba03c"),
        ("STS13-en-test/00-readme.txt", 8428, "531ee28a3787b11dd14dda8d809e724479d87f9705120494aad584c9cb14a6ce"),
        ("STS13-en-test/STS.gs.FNWN.txt", 685, "8ca95b7228119578e2007839cf7969f22c4f1fd41fd610c4b7f9683072d98066"),
        ("STS13-en-test/STS.gs.OnWN.txt", 2001, "0cd497aaddb00a2fb6db25f77bccfc09e8aa012e11549b81b434bab1a27ad954"),
        ("STS13-en-test/STS.gs.SMT.txt", 2753, "a09775ba2fafc9cbe0a7d0a08f0c729789b0d6c99dc4867a86b45b71a73f004e"),
        ("STS13-en-test/STS.gs.headlines.txt", 2716,
         "f49f64089011436dd296ef384c07160219406feef7dc4b9fa2af52a519f32bc6"),
        ("STS13-en-test/STS.input.FNWN.txt", 45727, "b48fc64cd85703ac6431f8ea6722f325fe9620fd4f33b3d5c24dd89c553e74bc"),
        ("STS13-en-test/STS.input.OnWN.txt", 47247, "127c66889627f26dc11864dc9be4ba1e4895ed60125985c755429ad588e4b9c8"),
        ("STS13-en-test/STS.input.headlines.txt", 69120,
         "885e6149fff28a79591ba464c13626d03593b822c88c7c04b6564354d31c7561"),
        ("STS14-en-test/00-readme.txt", 6782, "9fe9d64362ac42ed24010d5b00f227235a660dc2466fba743f31051fd121ef73"),
        ("STS14-en-test/STS.gs.OnWN.txt", 2765, "1c80147df270ea4cfce14a47ed29f8a2f10d5dc016d02836077fd786ff7f535b"),
        ("STS14-en-test/STS.gs.deft-forum.txt", 1780,
         "ba6dc76696b5c93985590a325b4d142449932cdf0d715b2bab1b1743fe3c488c"),
        ("STS14-en-test/STS.gs.deft-news.txt", 1058,
         "105c5b333abd50c274efb4dae9e3e0dab36ed63eee780cfb49955b1586bd62f2"),
        ("STS14-en-test/STS.gs.headlines.txt", 2610,
         "f243c34647255cd0b994565ed4f58dd31506e7d9c9d6250d1a6dd14095625832"),
        ("STS14-en-test/STS.gs.images.txt", 2550, "fc994ebacc7074c332626fa9e29542d7340a48a3cdb999b47cdb59c378523a62"),
        ("STS14-en-test/STS.gs.tweet-news.txt", 2640,
         "0098c644bfeaa2d511a8297b1940771865900c372c9dd49a62726dc5ec02c9a3"),
        ("STS14-en-test/STS.input.OnWN.txt", 68106, "a227d5fe1c1f729a52a0b39b5b36d3225e1bca3c278e7ed392cac2ecd3990f1c"),
        ("STS14-en-test/STS.input.deft-forum.txt", 42219,
         "8b48aa15bb850e2827446f6e98cc3c5123ff283924b4571a409aa2fab73e35c6"),
        ("STS14-en-test/STS.input.deft-news.txt", 62688,
         "92df5b8c48873cbfba36b73a77955fb965c9244776df9e9c2c4d2f6155bdeefe"),
        ("STS14-en-test/STS.input.headlines.txt", 71549,
         "a19f84294325c62a2a403b59957196fd7737f86654ded0e04e0b54bc4a8bcf9e"),
        ("STS14-en-test/STS.input.images.txt", 69478,
         "cec1b3c08b0e4c88aeaf8dca047f5b28f4a8588eeef58475e0f16491d2bb7193"),
        ("STS14-en-test/STS.input.tweet-news.txt", 92117,
         "250d29ec9394e35443b2a73016ccc55e11b20939a3b8ee3bea9a858ba2f9adc0"),
        ("STS15-en-test/00-readme.txt", 877, "38fe35ef21a0f224b6cc51e00d138810063521cd90458a7d77e4e0aa3a79542d"),
        ("STS15-en-test/STS.gs.answers-forums.txt", 3500,
         "1644301a7540e5484da285002e9269062852efb2272be614cad99c9530f6a102"),
        ("STS15-en-test/STS.gs.answers-students.txt", 4500,
         "028db213140f8c7aef7497c4ae38b6380938f20359852231669c83dce11c3701"),
        ("STS15-en-test/STS.gs.belief.txt", 3500, "5736192faaccbdbecd0ef6b73ec04b24115cd2e48d55dc3b1b170da3d2a81c75"),
        ("STS15-en-test/STS.gs.headlines.txt", 4500,
         "e8e432f769c8a94ddb62ae3343890ac24a9dd78a116d56c707313bc59413dd56"),
        ("STS15-en-test/STS.gs.images.txt", 4500, "ed8878209098c77ca7f02ac413d3fd698f92ad3425999555e50fda89fc46012a"),
        ("STS15-en-test/STS.input.answers-forums.LICENSE", 2494,
         "65718ec23624d97933308adc08cb270db798cdd5593d35501be9bfda5ba1a28a"),
        ("STS15-en-test/STS.answers-forums.zip", 357715,
         "a62210a79f8763d9c2039f9cff272ec29af11e29f5d708bf07bc8e0a5fc7a953"),
        ("STS15-en-test/STS.input.answers-forums.txt", 347534,
         "fe8e460a74e8e38704ac4e6ddcedec89fd6e51cd0467d6f4301b444b259688e1"),
        ("STS15-en-test/STS.input.answers-students.txt", 161643,
         "16eedf46fb3b29822b275a0ddcff8e873a6eb4bafba244a17c4049ffc318d62a"),
        ("STS15-en-test/STS.input.belief.txt", 281234,
         "6e924a19fb1abbce01a8666f07766250b46a96c89272de8e5b01d0905bc61b79"),
        ("STS15-en-test/STS.input.headlines.txt", 145511,
         "779c195c54b72282bd3c8ca1dbb09a4155a39b2acd13d5cf819d8555d717cf6a"),
        ("STS15-en-test/STS.input.images.txt", 144021,
         "6f332542a75bcd18ea1442fc129306f746cd7ade7010ea274e763bfca576cc47"),
        ("STS16-en-test/LICENSE.txt", 3543, "94b7380d16f832ae97bcb48536f22fe9a22e8e20f8cf88a9298f65c556e3a6f2"),
        ("STS16-en-test/README.txt", 2998, "1b74b4c84a59f139153f0348e212bfdb33dffd3b008dfb2c4f7728c4fa27141f"),
        ("STS16-en-test/STS2016.gs.answer-answer.txt", 1826,
         "332efd741b0cb247d20dd2a6cec854360c921c7e6b395f328f562d8d26057214"),
        ("STS16-en-test/STS2016.gs.headlines.txt", 1747,
         "01e33a95996201a6e81e3cce9eda0f15048b77613ea64dce2929bb35479f7d85"),
        ("STS16-en-test/STS2016.gs.plagiarism.txt", 1501,
         "29984944a91aaff484f2b2e5d4d434fc8a6f5ef6f578a880cccd2786f5142fdc"),
        ("STS16-en-test/STS2016.gs.postediting.txt", 3531,
         "81947ed9dbe7f85b7bd249df68ed5c7b2f16f06390ad568eb5554b1e26bc5577"),
        ("STS16-en-test/STS2016.gs.question-question.txt", 1764,
         "cf9ebf9d140191f73620cda0560947ad9283c910735d0d541b8a401a5e64afb0"),
        ("STS16-en-test/STS2016.input.answer-answer.txt", 621670,
         "7daf2cd87751a0f8b754fe705bdb280c31591d9febf5b6fce9dcb10d3b8a72a7"),
        ("STS16-en-test/STS2016.input.headlines.txt", 289010,
         "ec8ee1124e71f4cc18c861f542fa8f32c86fef0703de31b0f7a02e22e935d992"),
        ("STS16-en-test/STS2016.input.plagiarism.txt", 517084,
         "6760cb210f4423262fd8962674e6668409690ce888bb1617659c6886cf004019"),
        ("STS16-en-test/STS2016.input.postediting.txt", 1449412,
         "a8a66185877785307803c99a0899d65aefb062c4bf7689560b95d37bb0c05474"),
        ("STS16-en-test/STS2016.input.question-question.txt", 727206,
         "b7f95dead3d8c59fbaacbb135643c6ebd322682db6502fdb24d4ce83c9bf016d"),
    ),
    "mr": (
        ("rt-polarity.neg", 616109, "c4ac36eaa8adc8ee31c31f69594bfbe68d83ef5b6db53f1f19b28c0be52f3999"),
        ("rt-polarity.pos", 629795, "34e5b0da2d491e46b700b00afe735aaae0962bcfe4f7f22b2d8077e714fa370f"),
    ),
    "cr": (
        ("custrev.neg", 142650, "ec94532766f6f962094841ab3bee2ad6f232f996c3756825a91e78bcc294750f"),
        ("custrev.pos", 228014, "91a20a4ffeb5d38a39a4087bb247e16538aff21e7d621ae59738379f39f21732"),
    ),
    "subj": (
        ("subj.objective", 672430, "d8ccd43f1674f1c17e4ab717564e3561cfb719b0db4cfb19e5677427c68ff8a1"),
        ("subj.subjective", 634654, "274c2ffe59c204dc4df779848561786f59a98cc20dda3cfdd7d9f76a4f730710"),
    ),
    "mpqa": (
        ("mpqa.neg", 158902, "8da6e035fa4cea02f0555091096b29a6b3995ff0adf41fad25008dcee066b79e"),
        ("mpqa.pos", 60581, "7487dbb74c77383e60b292845495163a9e21fb70a4fdacdda933413e43163f0d"),
    ),
    "sst": (
        ("binary/sentiment-dev", 94916, "9a6c7403b71a9b762158387afe4431253ae10cdfb2319b5275289f3766f48291"),
        ("binary/sentiment-test", 194788, "4fefd1cd67526cf87ebc7fafc3afc21cc7cfa6ae53b45e74f77f9456e3c62752"),
        ("binary/sentiment-train", 3806066, "10a92a297ec38e262386e5a2713b4bc70e5d18ced88b7f54bd171a26e5b34ab5"),
        ("fine/sentiment-dev", 117239, "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3"),
        ("fine/sentiment-test", 233634, "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73"),
        ("fine/sentiment-train", 902818, "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee"),
    ),
    "trec": (
        ("TREC_10.label", 23269, "86ad53c8fc9d397ab2f4be7c967d8efb470b260140557d3e57afad69d1b88b76"),
        ("train_5500.label", 333379, "8bd6e79493f43bbd22c364587366a1dced54e1e31259eaa92721a0f526031116"),
        ("raw/TREC_10.label", 23330, "134146cac3aa7b09f63c1b7afecf0632e0c134484d8e96af1e11472be67d896f"),
        ("raw/train_5500.label", 335858, "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3"),
    ),
    "mrpc": (
        ("msr_paraphrase_test.txt", 441275, "a04e271090879aaba6423d65b94950c089298587d9c084bf9cd7439bd785f784"),
        ("msr_paraphrase_train.txt", 1047044, "60a9b09084528f0673eedee2b69cb941920f0b8cd0eeccefc464a98768457f89"),
        ("raw/msr_paraphrase_test.txt", 432878, "f6b357df6a3f36d803205f897d341f7ec86fc1701ba8a88cb1f22a289f154c84"),
        ("raw/msr_paraphrase_train.txt", 1026744, "a317dd77c73885ea42ceec472408c9c7b64396b82af73628224ea090b111cfc3"),
    ),
    "afs": (
        ("ArgPairs_DP.csv", 491869, "c10a75ededcf334d9313916e34f025f6858cf50098858903137a09723e92c4a6"),
        ("ArgPairs_GC.csv", 599705, "5f7670814cf7a8ad8bfcb98bcd705895555055983b071f6764fb02b16d6a17e0"),
        ("ArgPairs_GM.csv", 633326, "0114d008082a668c3ccd60a01a24baf386b5e5c91f939eecb222e5a88b378550"),
    ),
    "nli": (
        ("snli-senteval/labels.dev", 108391, "d164d72435c3289fe53cb01e983f7c06e104bf192c0cae9caf2e99bf2e15f974"),
        ("snli-senteval/labels.test", 108118, "e25c363e5cc70d5494d6e6555d8053eced22dca836e0f03067530eaad3d4f5f5"),
        ("snli-senteval/s1.dev", 743182, "28a398b5478b10b4b851d4bb5b2e5767171519add6586015ed50b9436df11d00"),
        ("snli-senteval/s1.test", 738834, "62cb8107dc3c56a4376e5e521842be24e0d61c92c346b94917da2bbf2a47d8be"),
        ("snli-senteval/s2.dev", 400948, "a8c59709630b64ba103f7784c0cb7104a6baf23234562487264d9634714f5d2b"),
        ("snli-senteval/s2.test", 398274, "1174f3ad30a3c30fc0f9eeffc1b3b6a79e0514026c5a658968a8e2a324b311a1"),
    ),
}

_STS_ZIPS = {
    # year: (URL used by SentEval's get_transfer_data.bash, top folder inside the zip)
    "STS12": ("http://ixa2.si.ehu.es/stswiki/images/4/40/STS2012-en-test.zip", "test-gold"),
    "STS13": ("http://ixa2.si.ehu.es/stswiki/images/2/2f/STS2013-en-test.zip", "test-gs"),
    "STS14": ("http://ixa2.si.ehu.es/stswiki/images/8/8c/STS2014-en-test.zip", "sts-en-test-gs-2014"),
    "STS15": ("http://ixa2.si.ehu.es/stswiki/images/d/da/STS2015-en-test.zip", "test_evaluation_task2a"),
    "STS16": ("http://ixa2.si.ehu.es/stswiki/images/9/98/STS2016-en-test.zip", "sts2016-english-with-gs-v1.0"),
}
_SICK_BASE = "http://alt.qcri.org/semeval2014/task1/data/uploads"
_BINCLASSIF = "https://s3.amazonaws.com/senteval/senteval_data/datasmall_NB_ACL12.zip"
_SENTEVAL_TOKENIZED = (
    "SentEval's get_transfer_data.bash rewrites these files (`cat -v` + its PTB tokenizer.sed), so the raw "
    "release cannot give the same bytes; run SentEval's data/downstream/get_transfer_data.bash and pass the "
    "resulting data/downstream folder with --from-archive"
)
_SENTEVAL_DIRS = {"mr": "MR", "cr": "CR", "subj": "SUBJ", "mpqa": "MPQA"}
_BINCLASSIF_DIRS = {"mr": "rt10662", "cr": "customerr", "subj": "subj", "mpqa": "mpqa"}
_DELETE_QUOTES = "delete-backticks-and-apostrophes"


def _entries(
    dataset: str,
    members: Callable[[str], tuple[str, ...]] = lambda rel: (),
    overrides: dict[str, dict] | None = None,
) -> tuple[FileEntry, ...]:
    """FileEntry records for ``dataset`` from the checksum table.

    ``members(rel)`` gives extra archive member names for the file at ``rel`` (path inside the dataset folder);
    ``overrides[rel]`` extra FileEntry fields (``pinned``, ``derive``, ``note``).
    """
    out = []
    for rel, size, sha in _FILES[dataset]:
        extra = (overrides or {}).get(rel, {})
        out.append(FileEntry(f"{dataset}/{rel}", size, sha, members=members(rel), **extra))
    return tuple(out)


def _sts_members(rel: str) -> tuple[str, ...]:
    """``STS12-en-test/STS.input.MSRpar.txt`` <- ``test-gold/STS.input.MSRpar.txt`` in STS2012-en-test.zip."""
    folder, name = rel.split("/", 1)
    return (f"{_STS_ZIPS[folder[:5]][1]}/{name}",)


def _build() -> dict[str, Dataset]:
    """The manifest of every dataset, in a stable order."""
    sets = [
        Dataset(
            "stsb",
            "STS benchmark (Cer et al., SemEval-2017): train/dev/test, original untokenized release",
            _entries("stsb", lambda rel: (f"stsbenchmark/{rel}",)),
            (
                Source(
                    "http://ixa2.si.ehu.es/stswiki/images/4/48/Stsbenchmark.tar.gz",
                    "Stsbenchmark.tar.gz",
                    "tar.gz",
                    "members stsbenchmark/{sts-train.csv,sts-dev.csv,sts-test.csv,LICENSE.txt,readme.txt} -> stsb/. "
                    "(SentEval's data/downstream/STS/STSBenchmark/*.csv are tokenized rewrites: not accepted.)",
                ),
            ),
            "scores CC BY-SA 4.0; sentences under their sources' terms: see stsb/LICENSE.txt",
        ),
        Dataset(
            "sick",
            "SICK (Marelli et al., 2014): SemEval-2014 Task 1 train/trial/test release + full SICK.txt",
            _entries("sick"),
            tuple(
                Source(
                    f"{_SICK_BASE}/sick_{part}.zip",
                    f"sick_{part}.zip",
                    "zip",
                    f"member SICK_{part}.txt -> sick/SICK_{part}.txt"
                    + ("; its readme.txt -> sick/readme.txt" if part == "train" else ""),
                )
                for part in ("train", "trial", "test_annotated")
            )
            + (
                Source(
                    "https://zenodo.org/record/2787612/files/SICK.zip",
                    "SICK.zip",
                    "zip",
                    "member SICK.txt -> sick/SICK.txt (full 9840-pair corpus; reference only, no loader reads it)",
                ),
            ),
            "CC BY-NC-SA 3.0 (see sick/readme.txt); cite Marelli et al. 2014",
            note="SentEval's SICK copies are PTB-tokenized rewrites and are not accepted.",
        ),
        Dataset(
            "sts",
            "STS12-STS16 (Agirre et al., SemEval 2012-2016) English test sets with gold scores, untokenized",
            _entries(
                "sts",
                _sts_members,
                {
                    "STS15-en-test/STS.answers-forums.zip": {
                        "pinned": False,
                        "note": "license companion of STS.input.answers-forums.txt; the verified copy was repacked "
                        "without its tsv2txt.py script, so the organizers' original zip is accepted too",
                    }
                },
            ),
            tuple(
                Source(
                    url,
                    url.rsplit("/", 1)[1],
                    "zip",
                    f"members {top}/* -> sts/{year}-en-test/ (SentEval renames {top} to {year}-en-test)",
                )
                for year, (url, top) in _STS_ZIPS.items()
            ),
            "per-source terms: see the 00-readme.txt / LICENSE.txt of each year; cite Agirre et al. 2012-2016",
            note="STS16 files keep the organizers' STS2016.* names. STS13 SMT inputs are LDC-licensed and absent "
            "everywhere (its gold file is kept). SentEval's STS trees hold tokenized, lower-cased rewrites of the "
            "inputs: those are not accepted.",
        ),
    ]
    for name, title in (
        ("mr", "MR movie-review polarity (Pang & Lee, 2005), SentEval version"),
        ("cr", "CR customer reviews (Hu & Liu, 2004), SentEval version"),
        ("subj", "SUBJ subjectivity (Pang & Lee, 2004), SentEval version"),
        ("mpqa", "MPQA opinion polarity (Wiebe et al., 2005), SentEval version"),
    ):
        raw_dir, se_dir = _BINCLASSIF_DIRS[name], _SENTEVAL_DIRS[name]
        sets.append(
            Dataset(
                name,
                title,
                _entries(name, lambda rel, se=se_dir: (f"{se}/{rel}",)),
                (
                    Source(
                        _BINCLASSIF,
                        "datasmall_NB_ACL12.zip",
                        "zip",
                        f"raw member data/{raw_dir}/<file> is what SentEval processes into {se_dir}/<file>; "
                        f"our files are SentEval's output (data/downstream/{se_dir}/<file>)",
                    ),
                ),
                "research use; no license file in the sources; cite the original paper",
                note=_SENTEVAL_TOKENIZED,
                fetchable=False,
                manual=_SENTEVAL_TOKENIZED,
            )
        )
    sets += [
        Dataset(
            "sst",
            "Stanford Sentiment Treebank (Socher et al., 2013): SentEval SST2 (binary/) and SST5 (fine/)",
            _entries(
                "sst",
                lambda rel: (f"SST/{rel}",)
                + ((f"stsa.fine.{rel.rsplit('-', 1)[1]}",) if rel.startswith("fine/") else ()),
            ),
            tuple(
                Source(
                    f"https://raw.githubusercontent.com/PrincetonML/SIF/master/data/sentiment-{split}",
                    f"sentiment-{split}",
                    "file",
                    f"-> sst/binary/sentiment-{split} (SentEval downloads it unchanged)",
                )
                for split in ("train", "dev", "test")
            )
            + tuple(
                Source(
                    "https://raw.githubusercontent.com/AcademiaSinicaNLPLab/sentiment_dataset/master/data/"
                    f"stsa.fine.{split}",
                    f"stsa.fine.{split}",
                    "file",
                    f"-> sst/fine/sentiment-{split} (SentEval renames it, bytes unchanged)",
                )
                for split in ("train", "dev", "test")
            ),
            "no license file in the sources; cite Socher et al. 2013",
            note="sentiment-dev from PrincetonML/SIF@006f004 has the same length in characters and the same first "
            "and last lines as ours; the other files were not compared before download.",
        ),
        Dataset(
            "trec",
            "TREC question classification (Li & Roth, 2002): SentEval version + raw originals",
            _entries(
                "trec",
                lambda rel: () if rel.startswith("raw/") else (f"TREC/{rel}",),
                {
                    rel: {"derive": (f"trec/raw/{rel}", _DELETE_QUOTES)}
                    for rel in ("train_5500.label", "TREC_10.label")
                },
            ),
            tuple(
                Source(
                    f"http://cogcomp.cs.illinois.edu/Data/QA/QC/{name}",
                    name,
                    "file",
                    f"-> trec/raw/{name}; trec/{name} is derived by deleting every ` and ' (SentEval's two sed calls)",
                )
                for name in ("train_5500.label", "TREC_10.label")
            ),
            "no license file in the sources; cite Li & Roth 2002. Latin-1 encoded.",
        ),
        Dataset(
            "mrpc",
            "Microsoft Research Paraphrase Corpus (Dolan et al., 2004): SentEval version + raw MSR release",
            _entries(
                "mrpc",
                lambda rel: () if rel.startswith("raw/") else (f"MRPC/{rel}",),
                {
                    f"raw/{n}": {
                        "note": "from the MSR installer MSRParaphraseCorpus.msi: extract it with cabextract or "
                        "msiextract and pass the folder with --from-archive"
                    }
                    for n in ("msr_paraphrase_train.txt", "msr_paraphrase_test.txt")
                },
            ),
            tuple(
                Source(
                    f"https://s3.amazonaws.com/senteval/senteval_data/{name}",
                    name,
                    "file",
                    f"-> mrpc/{name} (SentEval's tokenized copy, what SentEval evaluates on)",
                )
                for name in ("msr_paraphrase_train.txt", "msr_paraphrase_test.txt")
            )
            + (
                Source(
                    "https://download.microsoft.com/download/D/4/6/D46FF87A-F6B9-4252-AA8B-3604ED519838/"
                    "MSRParaphraseCorpus.msi",
                    "MSRParaphraseCorpus.msi",
                    "msi",
                    "the raw release -> mrpc/raw/ (extract by hand with cabextract / msiextract)",
                ),
            ),
            "Microsoft Research license terms; cite Dolan & Brockett 2005",
        ),
        Dataset(
            "afs",
            "Argument Facet Similarity corpus (Misra et al., SIGDIAL 2016): death penalty, gun control, gay marriage",
            _entries("afs"),
            (
                Source(
                    "https://nlds.soe.ucsc.edu/node/44",
                    "",
                    "page",
                    "the UCSC NLDS lab's release page (no direct file link); ArgPairs_{DP,GC,GM}.csv -> afs/",
                ),
            ),
            "research use (UCSC NLDS release); no license statement found; cite Misra et al. 2016",
            note="only one public copy was found (mabehrendt/argueBERT@cfb2e1f); not cross-checked byte-for-byte.",
            fetchable=False,
            manual="AFS has no direct download link: get ArgPairs_DP.csv, ArgPairs_GC.csv and ArgPairs_GM.csv from "
            "https://nlds.soe.ucsc.edu/node/44 (or a repository that redistributes them) and pass the file or "
            "folder with --from-archive",
        ),
        Dataset(
            "nli",
            "SNLI 1.0 dev/test in SentEval's format (labels '-' removed, PTB-tokenized); NOT the training data",
            _entries("nli", lambda rel: (f"SNLI/{rel.split('/', 1)[1]}",)),
            (
                Source(
                    "https://nlp.stanford.edu/projects/snli/snli_1.0.zip",
                    "snli_1.0.zip",
                    "zip",
                    "raw snli_1.0/snli_1.0_{dev,test}.txt, which SentEval filters and tokenizes into "
                    "SNLI/{s1,s2,labels}.{dev,test} = nli/snli-senteval/",
                ),
            ),
            "CC BY-SA 4.0; cite Bowman et al. 2015",
            note="SBERT's training data (SNLI train + MultiNLI train, e.g. sentence-transformers' AllNLI) is not in "
            "the data root and not in this manifest.",
            fetchable=False,
            manual=_SENTEVAL_TOKENIZED.replace("`cat -v` + its PTB tokenizer.sed", "label filter + PTB tokenizer.sed"),
        ),
        Dataset(
            "wikisec",
            "Wikipedia sections triplets (Dor et al., 2018), Table 4",
            (),
            (
                Source(
                    "https://public.ukp.informatik.tu-darmstadt.de/reimers/sentence-transformers/datasets/"
                    "wikipedia-sections-triplets.zip",
                    "wikipedia-sections-triplets.zip",
                    "zip",
                    "as listed by sentence-transformers' examples/datasets/get_data.py; not verified here",
                ),
            ),
            "see Dor et al. 2018 (IBM Debater datasets)",
            fetchable=False,
            manual="the Wikipedia-sections triplets are not part of the data root and have no pinned checksums in "
            "this manifest (train 1.8M / test 222,957 triplets, tens of MB); Table 4 cannot be reproduced from the "
            "data root",
        ),
    ]
    return {d.name: d for d in sets}


DATASETS: dict[str, Dataset] = _build()
"""Every dataset, by folder name."""

DATA_DATASETS: tuple[str, ...] = tuple(name for name, d in DATASETS.items() if d.files)
"""The datasets that have files in the data root (what ``all`` means)."""

MANIFESTS: dict[str, Dataset] = {name: DATASETS[name] for name in DATA_DATASETS}
"""The manifests :func:`verify_all` checks (datasets with files in the data root; ``wikisec`` is left out)."""


# ------------------------------------------------------------------ NLI training data (optional downloads)
# SBERT-NLI's training data (paper §3.1; read by repro/data/nli.py). Not part of the shared data root, so these are
# added after DATA_DATASETS: `fetch_data.py snli multinli` downloads and checks them, "all" and verify_all do not.
# The archives are pinned as released; size and sha256 as in tensorflow/datasets url_checksums/{snli,multi_nli}.txt.
NLI_TRAINING_DATASETS: tuple[str, ...] = ("snli", "multinli", "allnli")

DATASETS.update({
    "snli": Dataset(
        "snli",
        "SNLI 1.0 (Bowman et al., 2015) as released: snli_1.0.zip with snli_1.0_{train,dev,test}.jsonl",
        (FileEntry("snli/snli_1.0.zip", 94550081, "afb3d70a5af5d8de0d9d81e2637e0fb8c22d1235c2749d83125ca43dab0dbd3e",
                   note="kept zipped; the loader reads the jsonl members (or an extracted snli/snli_1.0/ folder)"),),
        (Source("https://nlp.stanford.edu/projects/snli/snli_1.0.zip", "snli_1.0.zip", "file",
                "the zip itself -> snli/snli_1.0.zip (for --from-archive pass the folder that holds it)"),),
        "CC BY-SA 4.0; cite Bowman et al. 2015",
        note="SBERT-NLI training data, part 1 (549,367 labelled train pairs); not in the shared data root",
    ),
    "multinli": Dataset(
        "multinli",
        "MultiNLI 1.0 (Williams et al., 2018) as released: multinli_1.0.zip with multinli_1.0_*.jsonl",
        (FileEntry("multinli/multinli_1.0.zip", 226850426,
                   "049f507b9e36b1fcb756cfd5aeb3b7a0cfcb84bf023793652987f7e7e0957822",
                   note="kept zipped; the loader reads the jsonl members (or an extracted multinli/multinli_1.0/)"),),
        (Source("https://cims.nyu.edu/~sbowman/multinli/multinli_1.0.zip", "multinli_1.0.zip", "file",
                "the zip itself -> multinli/multinli_1.0.zip (for --from-archive pass the folder that holds it)"),),
        "OANC / CC BY-SA 3.0 / CC BY 3.0 by genre (see the release's README); cite Williams et al. 2018",
        note="SBERT-NLI training data, part 2 (392,702 train pairs); not in the shared data root",
    ),
    "allnli": Dataset(
        "allnli",
        "sentence-transformers' AllNLI.tsv.gz (SNLI + MultiNLI in one gzipped TSV)",
        (),
        (Source("https://sbert.net/datasets/AllNLI.tsv.gz", "AllNLI.tsv.gz", "file",
                "-> allnli/AllNLI.tsv.gz; a derived file, re-generated by its maintainers over time"),),
        "as SNLI + MultiNLI",
        fetchable=False,
        manual="AllNLI.tsv.gz has no pinned checksum (no verified copy to pin, and it is regenerated upstream): "
        "download https://sbert.net/datasets/AllNLI.tsv.gz to <data root>/allnli/AllNLI.tsv.gz by hand, or use "
        "the sha256-pinned releases instead: `python data_scripts/fetch_data.py snli multinli`",
    ),
})


# ------------------------------------------------------------------ GloVe 840B-300d (optional download)
# The paper's word vectors (Table 1 "Avg. GloVe embeddings"; read by repro/encoders/wordvec.py as glove-840B-300d).
# No verified copy exists here to pin a sha256 from: the one of the first download is recorded beside the file
# (glove840b/glove.840B.300d.txt.sha256) and every later verify checks it.
GLOVE_840B_URL = "https://nlp.stanford.edu/data/glove.840B.300d.zip"
DATASETS["glove840b"] = Dataset(
    "glove840b",
    "GloVe 840B-300d word vectors (Pennington et al., 2014): glove.840B.300d.txt from the Stanford release",
    (FileEntry("glove840b/glove.840B.300d.txt", 0, "", members=("glove.840B.300d.txt",), pinned=False, first_use=True,
               note="about 5.6 GB unzipped; sha256 recorded at first download (not pinned)"),),
    (Source(GLOVE_840B_URL, "glove.840B.300d.zip", "zip",
            "member glove.840B.300d.txt -> glove840b/glove.840B.300d.txt"),),
    "Public Domain Dedication and License v1.0 (ODC PDDL); cite Pennington et al. 2014",
    note="2 GB download; its sha256 cannot be pinned here (no verified copy): the first download's is recorded "
    "in glove840b/glove.840B.300d.txt.sha256 and checked after",
)


# ------------------------------------------------------------------ InferSent v1 release weights (optional download)
# The released InferSent (Conneau et al., 2017) state, read by repro/encoders/infersent.py with GloVe 840B-300d.
INFERSENT1_URL = "https://dl.fbaipublicfiles.com/infersent/infersent1.pkl"
DATASETS["infersent"] = Dataset(
    "infersent",
    "InferSent v1 release weights (Conneau et al., 2017): infersent1.pkl (with GloVe 840B-300d: dataset glove840b)",
    (FileEntry("infersent/infersent1.pkl", 0, "", members=("infersent1.pkl",), pinned=False, first_use=True,
               note="about 150 MB; sha256 recorded at first download (not pinned)"),),
    (Source(INFERSENT1_URL, "infersent1.pkl", "file", "-> infersent/infersent1.pkl"),),
    "CC BY-NC 4.0 (facebookresearch/InferSent); cite Conneau et al. 2017",
    note="its sha256 cannot be pinned here (no verified copy): the first download's is recorded in "
    "infersent/infersent1.pkl.sha256 and checked after; read with weights_only=True, converted once to safetensors",
)

# ------------------------------------------------------------------ fastText Common Crawl vectors (optional download)
FASTTEXT_URL = "https://dl.fbaipublicfiles.com/fasttext/vectors-english/crawl-300d-2M.vec.zip"
DATASETS["fasttext"] = Dataset(
    "fasttext",
    "fastText Common Crawl vectors (Mikolov et al., 2018): crawl-300d-2M.vec (Table 5's 'Avg. fast-text embeddings')",
    (FileEntry("fasttext/crawl-300d-2M.vec", 0, "", members=("crawl-300d-2M.vec",), pinned=False, first_use=True,
               note="about 4.5 GB unzipped; sha256 recorded at first download (not pinned)"),),
    (Source(FASTTEXT_URL, "crawl-300d-2M.vec.zip", "zip", "member crawl-300d-2M.vec -> fasttext/crawl-300d-2M.vec"),),
    "CC BY-SA 3.0; cite Mikolov et al. 2018",
    note="1.5 GB download; its sha256 cannot be pinned here (no verified copy): the first download's is recorded in "
    "fasttext/crawl-300d-2M.vec.sha256 and checked after",
)

MODEL_DATASETS: dict[str, tuple[str, ...]] = {"glove-840B-300d": ("glove840b",),
                                              "infersent1": ("infersent", "glove840b"),
                                              "fasttext-crawl-300d-2M": ("fasttext",)}
"""Models whose files are datasets of this manifest (``--fetch-missing`` gets them for the tables that use them)."""


def get_dataset(name: str) -> Dataset:
    """The manifest of ``name``; ConfigError listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


# ------------------------------------------------------------------------------------------------ hashing


def check_file(root: str | Path, entry: FileEntry) -> str | None:
    """The problem with ``entry`` under ``root`` (missing, size or sha256 mismatch), or None when it is fine."""
    path = Path(root) / entry.path
    if not path.is_file():
        return f"{path}: missing"
    if entry.first_use:
        return _check_first_use(path)
    if not entry.pinned:
        return None
    size = path.stat().st_size
    if size != entry.size:
        return f"{path}: size {size} bytes, expected {entry.size} (truncated, modified or a different version)"
    sha = file_sha256(path)
    if sha != entry.sha256:
        return f"{path}: sha256 {sha}, expected {entry.sha256} (modified or a different version)"
    return None


FIRST_USE_SUFFIX = ".sha256"


def _check_first_use(path: Path) -> str | None:
    """A file whose checksum was recorded at its first install (``<file>.sha256``: "sha256  size") still has it."""
    record = path.with_name(path.name + FIRST_USE_SUFFIX)
    try:
        sha, size = record.read_text().split()[:2]
    except (OSError, ValueError):
        return None  # installed by hand: nothing recorded to compare with
    if path.stat().st_size != int(size) or file_sha256(path) != sha:
        return (f"{path}: differs from the copy installed first ({record} says sha256 {sha[:16]}..., "
                f"{int(size):,} bytes); fetch it again or delete {record} if the new copy is the one you want")
    return None


def verify(dataset: str, root: str | Path | None = None) -> list[str]:
    """Problems with ``dataset``'s files under the data root (empty list: everything verified).

    Each problem is one line naming the file: missing, size mismatch or sha256 mismatch. A dataset that is not
    part of the data root (``wikisec``) reports why. A miniature root accepted with :func:`accept_miniatures` is
    checked against its own ``MINIATURES.json`` instead.
    """
    ds = get_dataset(dataset)
    base = data_root(root)
    mini = miniatures(base)
    if mini is not None:
        return _verify_miniature(dataset, base, mini)
    if not ds.files:
        return [f"{dataset}: {ds.manual}"]
    problems = [p for p in (check_file(base, e) for e in ds.files) if p]
    if any(p.endswith(": missing") for p in problems):
        problems.append(f"{dataset}: to get the missing files, {_how_to_get(ds, base)}")
    return problems


# ------------------------------------------------------------------- miniature roots (rehearsal, issue 20)
# A miniature data root (repro/rehearsal/datasets.py) holds every dataset in its released format, sampled small;
# its MINIATURES.json lists each file's sha256 and the item counts. It is checked against that file instead of
# the release checksums, and the loaders' strict counts become the miniature's, but only for a root accepted with
# accept_miniatures() (recorded in $SBERT_REPRO_MINIATURES so that unit subprocesses inherit it): a MINIATURES.json
# found in any other root changes nothing, so real data is never checked less.
MINIATURES_FILE = "MINIATURES.json"
MINIATURES_ENV = "SBERT_REPRO_MINIATURES"


def _accepted_roots() -> set[str]:
    return {p for p in os.environ.get(MINIATURES_ENV, "").split(os.pathsep) if p}


def _read_miniatures(base: Path) -> dict:
    path = base / MINIATURES_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"not a miniature data root ({type(exc).__name__}: {exc}); build one with "
                        f"`python data_scripts/make_miniatures.py --out DIR`", path) from None
    if not isinstance(info, dict) or not isinstance(info.get("files"), dict) or not isinstance(info.get("counts"),
                                                                                                dict):
        raise DataError("lacks the 'files' and 'counts' tables of a miniature manifest; rebuild it", path)
    return info


def accept_miniatures(root: str | Path) -> dict:
    """Accept ``root`` as a miniature data root (for this process and its children); return its manifest.

    From now on :func:`verify` checks ``root`` against its ``MINIATURES.json`` and :func:`expected_count` gives the
    miniature's item counts for it. DataError when ``root`` has no readable ``MINIATURES.json``.
    """
    base = Path(root).expanduser().resolve()
    info = _read_miniatures(base)
    os.environ[MINIATURES_ENV] = os.pathsep.join(sorted(_accepted_roots() | {str(base)}))
    return info


def miniatures(root: str | Path) -> dict | None:
    """The ``MINIATURES.json`` of ``root`` when ``root`` was accepted with :func:`accept_miniatures`, else None."""
    accepted = _accepted_roots()
    if not accepted:
        return None
    base = Path(root).expanduser().resolve()
    if str(base) not in accepted:
        return None
    return _read_miniatures(base)


def expected_count(root: str | Path | None, key: str, default: int):
    """The item count a loader's strict check expects: ``default`` (the release's), or for an accepted miniature
    root the count its ``MINIATURES.json`` records under ``key`` (e.g. ``stsb:test``, ``sts:STS12/MSRpar``)."""
    mini = miniatures(data_root(root))
    if mini is None:
        return default
    value = mini["counts"].get(key, default)
    return tuple(value) if isinstance(value, list) else value


def _verify_miniature(dataset: str, base: Path, mini: dict) -> list[str]:
    files = {rel: f for rel, f in mini["files"].items() if rel.split("/", 1)[0] == dataset}
    if not files:
        return [f"{dataset}: not part of the miniature data root {base} ({MINIATURES_FILE} lists no file of it)"]
    problems = []
    for rel, f in sorted(files.items()):
        path = base / rel
        if not path.is_file():
            problems.append(f"{path}: missing (listed in {MINIATURES_FILE}); rebuild the miniature root")
        elif path.stat().st_size != f["size"]:
            problems.append(f"{path}: size {path.stat().st_size} bytes, {MINIATURES_FILE} says {f['size']}")
        elif file_sha256(path) != f["sha256"]:
            problems.append(f"{path}: sha256 differs from {MINIATURES_FILE} (modified); rebuild the miniature root")
    return problems


def verify_all(root: str | Path | None = None) -> dict[str, list[str]]:
    """:func:`verify` for every dataset that has files in the data root."""
    return {name: verify(name, root) for name in DATA_DATASETS}


def _how_to_get(ds: Dataset, root: Path) -> str:
    if ds.fetchable:
        return f"run `python {FETCH_SCRIPT} {ds.name} --data-root {root}`"
    return ds.manual


# ----------------------------------------------------------------------------------------- atomic writing


def atomic_write(
    target: str | Path,
    chunks: Iterable[bytes],
    expect_sha256: str | None = None,
    expect_size: int | None = None,
) -> tuple[str, int]:
    """Write ``chunks`` to ``target`` through a temporary file in the same folder and ``os.replace``.

    The final name appears only once every byte is written, flushed and (when given) matches ``expect_size`` /
    ``expect_sha256``; on any error or interruption the temporary file is removed and ``target`` is left as it
    was. Returns (sha256, size) of what was written; raises :class:`ChecksumMismatch` on a mismatch.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, file_mode())  # mkstemp creates 0600; data files are meant to be shared (user umask)
        sha = digest.hexdigest()
        if (expect_size is not None and size != expect_size) or (expect_sha256 and sha != expect_sha256):
            raise ChecksumMismatch(
                f"content has {size} bytes / sha256 {sha}, expected {expect_size} bytes / sha256 {expect_sha256}",
                target,
                sha,
                size,
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return sha, size


def _read_chunks(fh: BinaryIO) -> Iterator[bytes]:
    """The content of an open binary file, in 1 MiB chunks."""
    yield from iter(lambda: fh.read(CHUNK), b"")


# ------------------------------------------------------------------------------------------- archive members


@dataclass
class _Member:
    """One candidate file inside an archive, a folder or a plain file."""

    name: str  # POSIX path inside its container
    size: int | None
    origin: str  # for messages: "ARCHIVE!member" or a path
    opener: Callable[[], BinaryIO] = field(repr=False)


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _zip_members(path: Path, stack: ExitStack) -> list[_Member]:
    zf = stack.enter_context(zipfile.ZipFile(path))
    return [
        _Member(info.filename, info.file_size, f"{path}!{info.filename}", lambda i=info: zf.open(i))
        for info in zf.infolist()
        if not info.is_dir()
    ]


def _tar_members(path: Path, stack: ExitStack) -> list[_Member]:
    tf = stack.enter_context(tarfile.open(path))
    return [
        _Member(info.name, info.size, f"{path}!{info.name}", lambda i=info: tf.extractfile(i))
        for info in tf.getmembers()
        if info.isfile()
    ]


def _archive_members(path: Path, stack: ExitStack) -> list[_Member]:
    """Members of a zip or tar archive; DataError naming the file if it is damaged."""
    try:
        if zipfile.is_zipfile(path):
            return _zip_members(path, stack)
        return _tar_members(path, stack)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"cannot read archive ({exc}); damaged or incomplete download?", path) from None


def _plain_member(path: Path, name: str) -> _Member:
    return _Member(name, path.stat().st_size, str(path), lambda: open(path, "rb"))


def _collect_members(source: Path, stack: ExitStack) -> list[_Member]:
    """Every file ``source`` offers: an archive's members, a plain file, or a folder's files and archives.

    In a folder, archives are opened too (``fetch`` downloads several into one folder), except archives that are
    themselves data files of some dataset (``STS.answers-forums.zip``).
    """
    if source.is_file():
        if _is_archive(source) or zipfile.is_zipfile(source):
            return _archive_members(source, stack)
        return [_plain_member(source, source.name)]
    if not source.is_dir():
        raise DataError("archive, file or folder not found", source)
    data_names = {PurePosixPath(e.path).name for d in DATASETS.values() for e in d.files}
    members = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        members.append(_plain_member(path, path.relative_to(source).as_posix()))
        if _is_archive(path) and path.name not in data_names:
            members.extend(_archive_members(path, stack))
    return members


def _candidate_names(entry: FileEntry) -> list[str]:
    """Member names ``entry`` may come from, most specific first."""
    rel = entry.path.split("/", 1)[1]
    names = [*entry.members, entry.path, rel, PurePosixPath(entry.path).name]
    return list(dict.fromkeys(names))


def _candidates(entry: FileEntry, members: list[_Member]) -> Iterator[_Member]:
    """Members whose name equals, or ends with ``/`` + , one of the entry's candidate names."""
    seen: set[int] = set()
    for name in _candidate_names(entry):
        for m in members:
            if id(m) not in seen and (m.name == name or m.name.endswith("/" + name)):
                seen.add(id(m))
                yield m


# --------------------------------------------------------------------------------------------- installing

_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    # SentEval's get_transfer_data.bash: sed -i -e "s/\`//g" and sed -i -e "s/'//g" on the TREC files.
    _DELETE_QUOTES: lambda data: data.replace(b"`", b"").replace(b"'", b""),
}


def _install_entry(entry: FileEntry, members: list[_Member], root: Path) -> str | None:
    """Install one file from the first matching member with the right bytes; return a problem or None."""
    target = root / entry.path
    if check_file(root, entry) is None:
        return None
    tried = []
    for m in _candidates(entry, members):
        if entry.pinned and m.size is not None and m.size != entry.size:
            tried.append(f"{m.origin} has {m.size} bytes")
            continue
        try:
            with m.opener() as fh:
                sha, size = atomic_write(target, _read_chunks(fh), entry.sha256 if entry.pinned else None)
            if entry.first_use:  # record what was installed, so later verifies detect a change
                atomic_write(target.with_name(target.name + FIRST_USE_SUFFIX), [f"{sha}  {size}\n".encode()])
            return None
        except ChecksumMismatch as exc:
            tried.append(f"{m.origin} has sha256 {exc.sha256[:16]}...")
        except OSError as exc:
            return f"{target}: cannot write ({exc})"
    if tried:
        return (
            f"{target}: no member has the expected bytes ({entry.size} bytes, sha256 {entry.sha256[:16]}...): "
            + "; ".join(tried)
        )
    return f"{target}: not found (looked for members named {', '.join(_candidate_names(entry))})"


def _derive_entry(entry: FileEntry, root: Path) -> str | None:
    """Compute ``entry`` from the file it derives from (already installed and verified); problem or None."""
    base_path, transform = entry.derive  # type: ignore[misc]
    ds = get_dataset(entry.path.split("/", 1)[0])
    base = next(e for e in ds.files if e.path == base_path)
    if check_file(root, base) is not None:
        return f"{root / entry.path}: not found, and {base.path} (which it can be derived from) is not there either"
    data = _TRANSFORMS[transform]((root / base.path).read_bytes())
    try:
        atomic_write(root / entry.path, [data], entry.sha256, entry.size)
    except ChecksumMismatch as exc:
        return f"{root / entry.path}: deriving it from {base.path} gave sha256 {exc.sha256[:16]}..., not the expected"
    return None


def install_from_archive(dataset: str, archive: str | Path, root: str | Path | None = None) -> list[str]:
    """Copy ``dataset``'s files from ``archive`` into the data root, then verify; return the problems.

    ``archive`` is a zip, a tar(.gz), a plain file or a folder (searched recursively; archives inside it are
    opened too): a canonical download, the folder :func:`fetch` downloads into, a SentEval ``data/downstream``
    tree or another data root. A file is only installed from a member with exactly the expected bytes; each
    write goes through a temporary file and ``os.replace``. Files already present and verified are left alone.
    """
    ds = get_dataset(dataset)
    base = data_root(root)
    if not ds.files:
        return [f"{dataset}: {ds.manual}"]
    problems: dict[str, str] = {}
    with ExitStack() as stack:
        members = _collect_members(Path(archive), stack)
        for entry in ds.files:
            problem = _install_entry(entry, members, base)
            if problem:
                problems[entry.path] = problem
    for entry in ds.files:
        if entry.derive and entry.path in problems and not _derive_entry(entry, base):
            del problems[entry.path]
    out = list(problems.values())
    out += [p for e in ds.files if e.path not in problems and (p := check_file(base, e))]
    if out and not ds.fetchable:
        out.append(f"{dataset}: {ds.manual}")
    elif out and ds.note:
        out.append(f"{dataset}: note: {ds.note}")
    return out


# ---------------------------------------------------------------------------------------------- fetching


def _download(url: str, target: Path, dataset: str, timeout: float) -> None:
    """Download ``url`` to ``target`` (atomically); DataError with a by-hand hint when it cannot."""
    hint = (
        f"download it by hand and run `python {FETCH_SCRIPT} {dataset} --from-archive FILE` "
        f"(FILE: the downloaded file, or a folder holding it)"
    )
    request = urllib.request.Request(url, headers={"User-Agent": "sbert-repro-fetch/0.1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            _, size = atomic_write(target, _read_chunks(response))
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not reach {url}: {reason}; {hint}") from None
    if length is not None and length.isdigit() and int(length) != size:
        target.unlink(missing_ok=True)
        raise DataError(f"incomplete download of {url}: got {size} of {length} bytes; {hint}")


def fetch(
    dataset: str,
    root: str | Path | None = None,
    timeout: float = 60.0,
    force: bool = False,
) -> list[str]:
    """Download ``dataset``'s canonical sources into a temporary folder and install them; return the problems.

    Does nothing when the dataset already verifies (unless ``force``). Raises a DataError for a dataset that
    cannot be downloaded as-is (SentEval-processed files, AFS, wikisec) and when a source cannot be reached,
    saying how to get the file by hand.
    """
    ds = get_dataset(dataset)
    base = data_root(root)
    if ds.files and not force and not verify(dataset, base):
        return []
    if not ds.fetchable:
        raise DataError(f"{dataset} cannot be downloaded as-is: {ds.manual}")
    with tempfile.TemporaryDirectory(prefix="sbert-repro-fetch-") as tmp_name:
        tmp = Path(tmp_name)
        for source in ds.sources:
            if source.kind in DOWNLOADABLE:
                _download(source.url, tmp / source.filename, dataset, timeout)
        return install_from_archive(dataset, tmp, base)


def describe(dataset: str) -> str:
    """A few lines on ``dataset``: title, files, sources and caveats (for ``fetch_data.py --list``)."""
    ds = get_dataset(dataset)
    size = f"{sum(e.size for e in ds.files):,} bytes" if all(e.pinned for e in ds.files) else "sizes not pinned"
    lines = [f"{ds.name}: {ds.title}", f"  files: {len(ds.files)} ({size})"]
    lines += [f"  source: {s.url} [{s.kind}] {s.note}".rstrip() for s in ds.sources]
    lines.append(f"  license: {ds.license}")
    if ds.note:
        lines.append(f"  note: {ds.note}")
    if not ds.fetchable:
        lines.append(f"  by hand: {ds.manual}")
    return "\n".join(lines)

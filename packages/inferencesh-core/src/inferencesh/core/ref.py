"""``Ref``: a reference to an app, agent, skill or knowledge base, ``[type/]namespace/name[@version][:function]``.

The platform reads references in this form (``client.run({"app": ...})``, an agent's
``app_tool``, ...). ``Ref.parse`` splits one into its parts exactly as the platform does, never
raising: a string that is not a reference comes back whole in ``name``.

Example:
    >>> from inferencesh import Ref
    >>> ref = Ref.parse("infsh/flux@abc1:generate")
    >>> ref
    Ref(type='', namespace='infsh', name='flux', version_id='abc1', function='generate')
    >>> ref.full_name(), str(ref)
    ('infsh/flux', 'infsh/flux@abc1:generate')
    >>> str(Ref(namespace="local", name="hello", function="greet"))
    'local/hello:greet'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REF_TYPES", "Ref"]

REF_TYPES = frozenset({"app", "agent", "skill", "knowledge"})
"""The kinds a reference may name in front: ``app/infsh/flux``, ``agent/acme/helper``."""

_LATEST = "latest"


@dataclass
class Ref:
    """A parsed reference: ``type`` (``""`` unless given), ``namespace``, ``name``,
    ``version_id`` (``""``: the latest) and ``function`` (``""``: the default one).

    ``str(ref)`` writes it back in the same form.
    """

    type: str = ""
    namespace: str = ""
    name: str = ""
    version_id: str = ""
    function: str = ""

    @staticmethod
    def parse(s: str) -> Ref:
        """Split ``s`` into a ``Ref``; ``@latest`` means no version.

        The version is what follows the last ``@`` (and the function what follows the last
        ``:`` after it); without an ``@``, the function is what follows the last ``:``. The
        rest is ``namespace/name``, with a leading type when it is one of ``REF_TYPES``
        (``app/infsh/flux``). A string with no ``/``, or more than one and no type, is a bare
        ``name``.

        Example:
            >>> from inferencesh import Ref
            >>> Ref.parse("agent/acme/helper@latest")
            Ref(type='agent', namespace='acme', name='helper', version_id='', function='')
            >>> Ref.parse("flux").name, Ref.parse("flux").namespace
            ('flux', '')
        """
        path, version, function = _split_suffix(s)
        ref = Ref(version_id="" if version == _LATEST else version, function=function)
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] in REF_TYPES:
            ref.type, ref.namespace, ref.name = parts[0], parts[1], "/".join(parts[2:])
        elif len(parts) == 2:
            ref.namespace, ref.name = parts
        else:
            ref.name = path
        return ref

    @staticmethod
    def try_parse(s: str) -> tuple[Ref, bool]:
        """``(Ref.parse(s), whether it has a namespace)``: tells ``ns/name`` from a bare name.

        Example:
            >>> from inferencesh import Ref
            >>> Ref.try_parse("infsh/flux")[1], Ref.try_parse("flux")[1]
            (True, False)
        """
        ref = Ref.parse(s)
        return ref, ref.namespace != ""

    def full_name(self) -> str:
        """``namespace/name`` (just ``name`` without a namespace)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def qualified_name(self) -> str:
        """``type/namespace/name`` when typed, else ``full_name()``."""
        return f"{self.type}/{self.full_name()}" if self.type else self.full_name()

    def is_typed(self) -> bool:
        """Whether the reference names its kind (``app/...``, ``agent/...``)."""
        return self.type != ""

    def __str__(self) -> str:
        text = self.qualified_name()
        if self.version_id:
            text += f"@{self.version_id}"
        if self.function:
            text += f":{self.function}"
        return text


def _split_suffix(s: str) -> tuple[str, str, str]:
    """``(path, version, function)`` of a reference string."""
    path, at, rest = s.rpartition("@")
    if at:
        version, colon, function = rest.rpartition(":")
        return (path, version, function) if colon else (path, rest, "")
    path, colon, function = s.rpartition(":")
    return (path, "", function) if colon else (s, "", "")

"""The 0.36 path ``inferencesh.models.base``; ``BaseApp`` and friends live in ``inferencesh.apps``."""

from inferencesh.apps import BaseApp as BaseApp
from inferencesh.apps import BaseAppInput as BaseAppInput
from inferencesh.apps import BaseAppOutput as BaseAppOutput
from inferencesh.apps import BaseAppSetup as BaseAppSetup
from inferencesh.apps import Metadata as Metadata
from inferencesh.apps.app import OrderedSchemaModel as OrderedSchemaModel
from inferencesh.apps.field_mixins import OptionalAudioFieldMixin as OptionalAudioFieldMixin
from inferencesh.apps.field_mixins import OptionalFileFieldMixin as OptionalFileFieldMixin
from inferencesh.apps.field_mixins import OptionalImageFieldMixin as OptionalImageFieldMixin
from inferencesh.apps.field_mixins import OptionalTextFieldMixin as OptionalTextFieldMixin
from inferencesh.apps.field_mixins import OptionalVideoFieldMixin as OptionalVideoFieldMixin
from inferencesh.apps.field_mixins import RequiredAudioFieldMixin as RequiredAudioFieldMixin
from inferencesh.apps.field_mixins import RequiredFileFieldMixin as RequiredFileFieldMixin
from inferencesh.apps.field_mixins import RequiredImageFieldMixin as RequiredImageFieldMixin
from inferencesh.apps.field_mixins import RequiredTextFieldMixin as RequiredTextFieldMixin
from inferencesh.apps.field_mixins import RequiredVideoFieldMixin as RequiredVideoFieldMixin

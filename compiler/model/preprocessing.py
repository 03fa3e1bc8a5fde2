"""The preprocessing section of the MLPipeline spec (see compiler.model.spec)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from compiler.model.names import FITS_INT64
from compiler.model.strict import Strict
from compiler.model.types import Identifier, Int64, ShortText

# A value of any column type (allowed values, fill values).
ScalarValue = Annotated[ShortText | Int64 | float | bool, FITS_INT64]

# --- preprocessing ---------------------------------------------------------------------------
# Part of the published model: the training step builds it into the sklearn Pipeline, so
# serving transforms features exactly as training did. The effective setting of each feature
# column (column entry, else type default, else built-in default) is
# compiler.preprocessing.effective_preprocessing.

Impute = Literal["none", "mean", "median", "most_frequent", "constant"]
Scale = Literal["none", "standard", "minmax"]
Encode = Literal["one_hot", "ordinal", "native"]

_IMPUTE = (
    "Missing values: none (left as NaN), mean, median, most_frequent, or constant (fill_value). "
    "Omitted: median for nullable int and float and most_frequent for nullable bool and category "
    "columns with sklearn; none for xgboost and lightgbm, which split on NaN natively."
)
_FILL = "What `impute: constant` fills in: of the column's type (a category: an allowed value)."
_SCALE = (
    "int and float columns: none, standard (to zero mean, unit variance) or minmax (to [0, 1])."
)
_ENCODE = (
    "Category columns: one_hot, ordinal (the code of the value in `allowed`, else among the "
    "sorted training values) or native (xgboost and lightgbm only: codes the booster splits on "
    "as categories). Omitted: one_hot with sklearn, native with xgboost and lightgbm."
)


class NumericDefaults(Strict):
    """Settings of every int and float feature without its own entry in `columns`."""

    impute: Impute | None = Field(default=None, description=_IMPUTE)
    fill_value: float | None = Field(default=None, description=_FILL)
    scale: Scale | None = Field(default=None, description=_SCALE)


class BoolDefaults(Strict):
    """Settings of every bool feature without its own entry in `columns`."""

    impute: Impute | None = Field(default=None, description=_IMPUTE)
    fill_value: bool | None = Field(default=None, description=_FILL)


class CategoryDefaults(Strict):
    """Settings of every category feature without its own entry in `columns`."""

    impute: Impute | None = Field(default=None, description=_IMPUTE)
    fill_value: ScalarValue | None = Field(default=None, description=_FILL)
    encode: Encode | None = Field(default=None, description=_ENCODE)


class TypeDefaults(Strict):
    numeric: NumericDefaults = Field(
        default=NumericDefaults(), description="int and float columns."
    )
    bool: BoolDefaults = Field(default=BoolDefaults(), description="bool columns.")
    category: CategoryDefaults = Field(default=CategoryDefaults(), description="category columns.")


class ColumnPreprocessing(Strict):
    """One column's settings; each one given here wins over the type's default."""

    drop: bool = Field(default=False, description="Leave the column out of the features.")
    impute: Impute | None = Field(default=None, description=_IMPUTE)
    fill_value: ScalarValue | None = Field(default=None, description=_FILL)
    scale: Scale | None = Field(default=None, description=_SCALE)
    encode: Encode | None = Field(default=None, description=_ENCODE)


class Preprocessing(Strict):
    """How features are prepared before the estimator, per type and per column."""

    defaults: TypeDefaults = Field(
        default=TypeDefaults(), description="Per column type, for columns not in `columns`."
    )
    columns: dict[Identifier, ColumnPreprocessing] = Field(
        default_factory=dict,
        max_length=2000,
        description="Per feature column, by name: settings that win over `defaults`.",
    )

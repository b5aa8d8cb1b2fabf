"""Training (``tf.train``): optimizers, learning-rate schedules, the global step, and saving: ``Saver``,
checkpoints and meta graphs.

Optimizers are registered through the ``tensorflux.plugins`` entry points, core's own included, so
an installed optimizer package shows up in :func:`list_optimizers` and :func:`get_optimizer`.

Example:
    >>> import tensorflux as tf
    >>> w = tf.Variable(2.0)
    >>> train_op = tf.train.get_optimizer("momentum")(0.1, momentum=0.9).minimize(tf.square(w))
    >>> train_op.type
    'NoOp'
"""

from ._internal.checkpoint.formats import list_checkpoint_formats as list_checkpoint_formats
from ._internal.checkpoint.reader import (
    CheckpointReader as CheckpointReader,
    NewCheckpointReader as NewCheckpointReader,
    list_variables as list_variables,
    load_checkpoint as load_checkpoint,
    load_variable as load_variable,
)
from ._internal.checkpoint.saver import Saver as Saver, import_meta_graph as import_meta_graph
from ._internal.checkpoint.state import (
    checkpoint_exists as checkpoint_exists,
    get_checkpoint_state as get_checkpoint_state,
    latest_checkpoint as latest_checkpoint,
    update_checkpoint_state as update_checkpoint_state,
)
from ._internal.serialization.files import write_graph as write_graph
from ._internal.serialization.meta_graph import export_meta_graph as export_meta_graph
from ._internal.training.adagrad import AdagradOptimizer as AdagradOptimizer
from ._internal.training.adam import AdamOptimizer as AdamOptimizer
from ._internal.training.gradient_descent import GradientDescentOptimizer as GradientDescentOptimizer
from ._internal.training.hooks import (
    CheckpointSaverHook as CheckpointSaverHook,
    LoggingTensorHook as LoggingTensorHook,
    NanLossDuringTrainingError as NanLossDuringTrainingError,
    NanTensorHook as NanTensorHook,
    SecondOrStepTimer as SecondOrStepTimer,
    SessionRunArgs as SessionRunArgs,
    SessionRunContext as SessionRunContext,
    SessionRunHook as SessionRunHook,
    SessionRunValues as SessionRunValues,
    StepCounterHook as StepCounterHook,
    StopAtStepHook as StopAtStepHook,
    SummarySaverHook as SummarySaverHook,
)
from ._internal.training.learning_rate_decay import (
    exponential_decay as exponential_decay,
    inverse_time_decay as inverse_time_decay,
)
from ._internal.training.momentum import MomentumOptimizer as MomentumOptimizer
from ._internal.training.monitored_session import (
    ChiefSessionCreator as ChiefSessionCreator,
    MonitoredSession as MonitoredSession,
    MonitoredTrainingSession as MonitoredTrainingSession,
    SingularMonitoredSession as SingularMonitoredSession,
)
from ._internal.training.optimizer import (
    Optimizer as Optimizer,
    get_optimizer as get_optimizer,
    list_optimizers as list_optimizers,
)
from ._internal.training.rmsprop import RMSPropOptimizer as RMSPropOptimizer
from ._internal.training.training_util import (
    create_global_step as create_global_step,
    get_global_step as get_global_step,
    get_or_create_global_step as get_or_create_global_step,
    global_step as global_step,
)


def __getattr__(name: str):  # noqa: ANN202
    from ._internal.tf1_names import missing_attribute

    raise missing_attribute(__name__, name)

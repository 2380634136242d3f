"""The Ziya2 recipe end to end: English base, vocabulary expansion, three stages, forgetting ablations (docs/RECIPE.md).

    python experiments/ziya2_recipe.py                                  # recipe=cpu
    python experiments/ziya2_recipe.py recipe=mini
    python experiments/ziya2_recipe.py recipe=ziya2_13b dry_run=true    # the paper's run: plan and estimate only
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from ziya2lab.common.paths import config_dir
from ziya2lab.recipe.config import RecipeAppConfig  # importing it registers the schema, ziya2_recipe_schema
from ziya2lab.recipe.pipeline import run_recipe
from ziya2lab.recipe.plan import format_plan, gpu_plan


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="ziya2_recipe")
def main(config: DictConfig) -> None:
    cfg: RecipeAppConfig = OmegaConf.to_object(config)  # type: ignore[assignment]
    if cfg.dry_run:
        print(format_plan(gpu_plan(cfg)))
        return
    print(f"report: {run_recipe(cfg)}")


if __name__ == "__main__":
    main()

"""Neural style transfer (Gatys et al. 2016): the Summer Palace photo in the texture of a dahlia.

Both photos ship with scikit-learn (`pip install 'robustgan[photos]'`). Any feature network plugs
in: pass network="timm:<name>" or a checkpoint path (load your own weights; nothing is downloaded).
Run: python examples/visualize_style.py   (writes visualize-out/style.png)
"""
from pathlib import Path

from robustgan.visualize import load_image, save_grid, style_transfer

content = load_image("china", size=96)
style = load_image("flower", crop=(110, 190, 220, 220), size=96)
res = style_transfer(content, style, network="random-multiscale", content_weight=1.0, style_weight=10.0,
                     steps=200, optimizer="lbfgs", progress=True)
save_grid([content[0], style[0], res.x[0]], Path("visualize-out") / "style.png",
          titles=["content", "style", "result"], cell=3.0)
print("content loss", res.content_loss, "style loss", res.style_loss)

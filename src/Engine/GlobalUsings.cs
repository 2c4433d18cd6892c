global using Zoetrope.Runtime;
global using Zoetrope.Attention.Flash;
